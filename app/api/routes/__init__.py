"""Route modules, one per group of endpoints: validate (app.schemas), call the engine, render,
respond."""
