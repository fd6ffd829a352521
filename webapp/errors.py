"""The project's error hierarchy and the one place it is mapped to HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from generation.errors import GenerationError
from safety.errors import ModerationUnavailable

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api", "/v1", "/admin/api")


class ApiError(Exception):
    """An error a client should see, with a stable ``code``."""

    status = 400
    code = "invalid_request"
    type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        param: str | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.retry_after = retry_after
        self.extra = extra or {}


class InvalidRequest(ApiError):
    """Bad input: a field is missing, of the wrong type or out of bounds."""


class Unauthorized(ApiError):
    status, code, type = 401, "invalid_api_key", "authentication_error"


class Forbidden(ApiError):
    status, code, type = 403, "forbidden", "permission_error"


class NotFound(ApiError):
    status, code, type = 404, "not_found", "invalid_request_error"


class Conflict(ApiError):
    status, code, type = 409, "conflict", "invalid_request_error"


class ContentPolicyViolation(ApiError):
    """A prompt or image was refused by moderation; ``extra`` carries stage and categories.

    ``refusal_id`` is the refusal log's row, when this error is the one just recorded.
    """

    code = "content_policy_violation"
    refusal_id: int | None = None


class TooManyRequests(ApiError):
    status, code, type = 429, "rate_limit_exceeded", "rate_limit_error"


class ServiceUnavailable(ApiError):
    status, code, type = 503, "service_unavailable", "server_error"


class ModerationDown(ServiceUnavailable):
    """Moderation could not run, so nothing is generated (fail closed)."""

    code = "moderation_unavailable"
    MESSAGE = "Moderation is unavailable, so the request was refused. Try again later."

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message, retry_after=30)


def wants_json() -> bool:
    """JSON for API paths and clients that ask for it; HTML for the browser UI."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int,
    message: str,
    code: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    retry_after: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """One error body for every JSON interface (OpenAI-shaped), or an HTML page."""
    if wants_json():
        body = {"error": {"code": code, "message": message, "type": type_, "param": param}}
        body["error"].update(extra or {})
        response = jsonify(body)
    else:
        html = render_template("error.html", status=status, message=message, code=code)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def _from_api_error(exc: ApiError) -> Response:
    extra = exc.extra
    if isinstance(exc, ContentPolicyViolation):  # every refusal links the policy it applied
        from webapp.policy import policy_url

        extra = {**extra, "policy_url": policy_url()}
    return error_response(
        exc.status, exc.message, exc.code, exc.type, exc.param, exc.retry_after, extra
    )


def _from_http(exc: HTTPException) -> Response:
    code = (exc.name or "error").lower().replace(" ", "_")
    retry = getattr(exc, "retry_after", None)
    if exc.code == 429:
        code, retry = "rate_limit_exceeded", retry or _retry_after_header(exc)
    response = error_response(exc.code or 500, exc.description or exc.name, code, retry_after=retry)
    for key, value in exc.get_headers() if exc.response is None else []:
        if key.lower() not in {"content-type", "content-length"}:
            response.headers.setdefault(key, value)
    return response


def _retry_after_header(exc: HTTPException) -> int | None:
    if exc.response is not None and exc.response.headers.get("Retry-After"):
        return int(exc.response.headers["Retry-After"])
    return None


def _refuse_oversized_body() -> None:
    """413 for a declared body over the limit on every route, before anything reads it.

    Bodies without a length (chunked) are cut off by the limit when read.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    """Map every project and HTTP error to a response; nothing leaks a stack trace."""
    app.register_error_handler(ApiError, _from_api_error)
    app.before_request(_refuse_oversized_body)

    @app.errorhandler(ModerationUnavailable)
    def _moderation_down(exc: ModerationUnavailable) -> Response:
        log.error("moderation unavailable: %s", exc)
        return _from_api_error(ModerationDown())

    @app.errorhandler(GenerationError)
    def _generation_failed(exc: GenerationError) -> Response:
        log.exception("generation failed")
        return error_response(500, "Image generation failed.", "generation_failed", "server_error")

    @app.errorhandler(SQLAlchemyTimeout)
    def _database_busy(exc: SQLAlchemyTimeout) -> Response:
        log.warning("database connection pool exhausted on %s %s", request.method, request.path)
        return error_response(
            503, "The server is busy; try again shortly.", "busy", "server_error", retry_after=5
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"The request body is too large: at most {limit} bytes."
        return error_response(413, message, "request_too_large")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if exc.response is not None and exc.code != 429:
            return exc.response
        return _from_http(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error.", "internal_error", "server_error")
