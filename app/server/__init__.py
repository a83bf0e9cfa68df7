"""The server process: ``python -m app.server`` runs the app under uvicorn (:mod:`.serve`), with
uvicorn's HTTP protocol guarded (:mod:`.http_protocol`, :mod:`.send_timeout`), the process tuned
(:mod:`.tuning`) and glibc's allocator set (:mod:`.allocator`)."""
