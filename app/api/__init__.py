"""HTTP layer: thin routes that validate (via app.schemas), call the engine and translate."""
