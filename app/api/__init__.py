"""HTTP layer: route modules (app.api.routes), middleware (app.api.middleware), and what they share:
the route classes, the error handlers, conversion to and from the engine's arrays, content
negotiation, the metrics registry."""
