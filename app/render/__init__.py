"""Pure functions from engine results and plain data to text, in two families: worked solutions
(:mod:`app.render.explain`) and exported scripts (:mod:`app.render.export`). Renderers import
no routes and no request models."""
