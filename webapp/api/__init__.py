"""The JSON APIs, one blueprint (``bp``) per module, and the helpers they share.

``routes`` is /api/v1, ``admin`` is /admin/api, ``openai`` is the OpenAI-compatible /v1 and
``openapi`` serves the machine-readable description of them all.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, g, request, url_for
from werkzeug.exceptions import BadRequest

from webapp.errors import (
    Conflict,
    ContentPolicyViolation,
    InvalidRequest,
    ModerationDown,
    ServiceUnavailable,
)
from webapp.generation_service import get_generation_service


def json_object() -> dict:
    """The request body as a JSON object, or 400 naming what is wrong with it."""
    try:
        body = request.get_json(force=True, silent=False)
    except (BadRequest, RecursionError):  # absurdly deep nesting is not valid input either
        raise InvalidRequest("The request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def response_format(body: dict[str, Any], allowed: tuple[str, ...]) -> str:
    """Pop and check ``response_format`` (the first allowed value is the default)."""
    value = body.pop("response_format", None)
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise InvalidRequest(
            f"'response_format' must be one of {', '.join(allowed)}.", param="response_format"
        )
    return value


def finished_or_raise(view: dict[str, Any]) -> dict[str, Any]:
    """A succeeded job's view; any other end becomes the error a synchronous caller gets."""
    status, error = view["status"], view["error"] or {}
    if status == "succeeded":
        return view
    message = error.get("message") or f"The job ended {status}."
    if status == "refused":
        fallback = {"action": "refuse", "stage": "image", "categories": []}
        extra = {"moderation": error.get("moderation", fallback)}
        raise ContentPolicyViolation(message, param="prompt", extra=extra)
    if status == "cancelled":
        raise Conflict(message)
    if error.get("code") == ModerationDown.code:
        raise ModerationDown(message)
    if status in {"queued", "running"} or error.get("code") in {"timeout", "interrupted"}:
        raise ServiceUnavailable("The job did not finish in time.", retry_after=30)
    raise ServiceUnavailable(message, retry_after=10)


def generate_sync(params: dict[str, Any], source: str) -> dict[str, Any]:
    """Submit, wait for the end, and return the succeeded job's view."""
    svc = get_generation_service()
    job = svc.submit(params, g.requester, source)
    svc.wait(job.id)
    return finished_or_raise(svc.job_view(job.id, g.requester, False))


def png_base64(image_id: str) -> str:
    """A stored image of this requester as base64."""
    with get_generation_service().image_file(image_id, g.requester, False) as fh:
        return base64.b64encode(fh.read()).decode("ascii")


def public_url(endpoint: str, **values: Any) -> str:
    """A URL for clients: under SAFECANVAS_PUBLIC_URL, else a relative path.

    Never from the request's Host header, which the client chooses.
    """
    path = url_for(endpoint, **values)
    base = current_app.config.get("SAFECANVAS_PUBLIC_URL")
    return f"{base}{path}" if base else path


def image_url(image_id: str) -> str:
    """Where a key fetches an image (``public_url`` of /api/v1/images/<id>.png)."""
    return public_url("api.image_file", image_id=image_id)
