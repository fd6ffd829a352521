"""Per request: a request id (the client's ``X-Request-ID`` when it is sane, else a new one),
bound to every log line of the request and echoed in the answer; then one log line with
method, path, status, latency and requester.

A path that is itself a credential (a signed image URL: anyone holding it can fetch the image
until it expires) is logged as its route, token cut, so that reading the logs grants nothing.
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, request

from webapp import logs
from webapp.metrics import observe_request

log = logging.getLogger("safecanvas.request")
HEADER = "X-Request-ID"
# Endpoints whose URL carries a bearer token; logged as their route ("/…/signed/<token>.png").
CREDENTIAL_ENDPOINTS = frozenset({"signed_images.image_file"})


def accept_request_id(raw: str | None) -> str:
    """The client's id when it is 1-128 safe characters; a fresh one (uuid4 hex) otherwise."""
    return raw if logs.is_safe_request_id(raw) else uuid.uuid4().hex


def loggable_path() -> str:
    """The request's path, or its route where the path holds a credential."""
    if request.endpoint in CREDENTIAL_ENDPOINTS and request.url_rule is not None:
        return request.url_rule.rule
    return request.path


def init_app(app: Flask) -> None:
    """Give every request an id and time it; log it when the response is ready."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = accept_request_id(request.headers.get(HEADER))
        g.request_log_token = logs.bind(g.request_id)

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        latency_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        observe_request(request.endpoint, request.method, response.status_code, latency_ms / 1000)
        response.headers[HEADER] = g.get("request_id") or accept_request_id(None)
        path = loggable_path()
        log.info(
            "%s %s %s %.1fms requester=%s",
            request.method,
            path,
            response.status_code,
            latency_ms,
            g.get("requester", "-"),
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "latency_ms": round(latency_ms, 1),
                "requester": g.get("requester", "-"),
            },
        )
        return response

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        token = g.pop("request_log_token", None)
        if token is not None:
            logs.unbind(token)
