"""One log line per request: method, path, status, latency, requester."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from webapp.metrics import observe_request

log = logging.getLogger("safecanvas.request")


def init_app(app: Flask) -> None:
    """Time every request and log it when the response is ready."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        latency_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        observe_request(request.endpoint, request.method, response.status_code, latency_ms / 1000)
        log.info(
            "%s %s %s %.1fms requester=%s",
            request.method,
            request.path,
            response.status_code,
            latency_ms,
            g.get("requester", "-"),
        )
        return response
