"""gunicorn settings for a model server: one process per device, threads for I/O."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# The model is loaded once per worker process: one worker per GPU (one on a CPU host).
workers = int(os.environ.get("SAFECANVAS_WORKERS", "1"))
worker_class = "gthread"
# Threads serve requests and event streams while the generation worker thread runs.
threads = int(os.environ.get("SAFECANVAS_THREADS", "16"))
# A synchronous generation can take minutes on a CPU: outlast it.
timeout = int(os.environ.get("SAFECANVAS_WORKER_TIMEOUT", "900"))
graceful_timeout = int(os.environ.get("SAFECANVAS_GRACEFUL_TIMEOUT", "120"))
keepalive = 5
accesslog = None  # the app logs one line per request itself
errorlog = "-"
