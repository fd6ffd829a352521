"""The JSON API (/api/v1), the admin JSON API (/admin/api), /v1 (OpenAI) and the OpenAPI doc."""

from __future__ import annotations

from flask import Blueprint, Flask, request
from werkzeug.exceptions import BadRequest

from webapp.errors import InvalidRequest

bp = Blueprint("api", __name__, url_prefix="/api/v1")
admin_bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")


def json_object() -> dict:
    """The request body as a JSON object, or 400 naming what is wrong with it."""
    try:
        body = request.get_json(force=True, silent=False)
    except (BadRequest, RecursionError):  # absurdly deep nesting is not valid input either
        raise InvalidRequest("The request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def init_app(app: Flask) -> None:
    """Wire auth, limits, the refusal log, the generation service and every API blueprint."""
    from webapp import auth, generation_service, limits, openai_api, openapi, refusal_log
    from webapp.api import admin, routes  # noqa: F401  (registers the views)

    auth.init_app(app)
    limits.init_app(app)
    refusal_log.init_app(app)
    generation_service.init_app(app)
    app.before_request(_recover_once)
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(openai_api.bp)
    app.register_blueprint(openapi.bp)


def _recover_once() -> None:
    """Before the first request: fail jobs that a dead process left unfinished."""
    from webapp.generation_service import get_generation_service

    get_generation_service().recover()
