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
# Slow clients: gthread waits for a new connection's first bytes off its threads (5 s), but
# then reads the headers and body on a thread with no deadline, so production runs behind
# the buffering proxy of docker-compose.yml (docs/deploy.md, "Security"). What gunicorn
# offers besides: bounds on the request line and headers (431 or 400 beyond them).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = None  # the app logs one line per request itself
errorlog = "-"
