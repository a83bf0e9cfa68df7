"""ASGI middleware, one concern each: body buffering, the concurrency cap, observability (request
ids, metrics, the access log) and the per-request record they share."""
