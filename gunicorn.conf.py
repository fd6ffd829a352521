"""gunicorn settings for a model server: one process per device, threads for I/O."""

import os
import shutil
import tempfile

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
# SAFECANVAS_LOG_FORMAT=json: gunicorn's own lines (start, worker boot and exit, timeouts) are
# JSON objects too, with the fields of the app's (webapp/logs.py). The root logger keeps no
# handler, so each worker's app adds its own.
if os.environ.get("SAFECANVAS_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False}
        },
        "formatters": {
            "generic": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": ["levelname", "name", "message"],
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        },
    }

# Prometheus multiprocess mode: every worker writes its metrics to files in one folder and
# /metrics adds them up, so a scrape sees all workers, not whichever one answered. Set
# before any worker imports prometheus_client; a fresh folder per master start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="safecanvas-metrics-")
    _OWN_METRICS_DIR = True
else:
    _OWN_METRICS_DIR = False


def on_starting(server):
    """Start from an empty metrics folder: files of a previous run would be counted."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.unlink(os.path.join(folder, name))


def on_exit(server):
    """Remove the metrics folder this config made."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def pre_fork(server, worker):
    """Give each worker the lowest device slot no live worker holds (0..N-1)."""
    taken = {getattr(w, "device_slot", None) for w in server.WORKERS.values()}
    worker.device_slot = min(set(range(len(taken) + 1)) - taken)


def post_fork(server, worker):
    """In the worker, before the app loads: its slot picks its GPU (``cuda:<slot>``)."""
    os.environ["SAFECANVAS_DEVICE_SLOT"] = str(worker.device_slot)


def child_exit(server, worker):
    """A dead worker's live gauges must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
