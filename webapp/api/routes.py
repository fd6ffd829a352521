"""/api/v1: synchronous images, asynchronous jobs with events, and image files."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response, g, jsonify, send_file, stream_with_context, url_for

from webapp.api import bp, json_object
from webapp.auth import api_key_required
from webapp.errors import Conflict, ContentPolicyViolation, InvalidRequest, ServiceUnavailable
from webapp.generation_service import ModerationDown, get_generation_service
from webapp.limits import api_limit

RESPONSE_FORMATS = ("url", "b64_png")


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
        extra = {"moderation": error.get("moderation", {"stage": "image", "categories": []})}
        raise ContentPolicyViolation(message, param="prompt", extra=extra)
    if status == "cancelled":
        raise Conflict(message)
    if error.get("code") == "moderation_unavailable":
        raise ModerationDown(message, retry_after=30)
    if status in {"queued", "running"} or error.get("code") in {"timeout", "interrupted"}:
        raise ServiceUnavailable("The job did not finish in time.", retry_after=30)
    raise ServiceUnavailable(message, retry_after=10)


def run_sync(body: dict[str, Any], source: str) -> dict[str, Any]:
    """Submit, wait for the end, and return the succeeded job's view."""
    svc = get_generation_service()
    job = svc.submit(body, g.requester, source)
    svc.wait(job.id)
    return finished_or_raise(svc.job_view(job.id, g.requester, False))


def png_base64(image_id: str) -> str:
    """A stored image of this requester as base64."""
    path = get_generation_service().image_file(image_id, g.requester, False)
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode("ascii")


@bp.post("/images")
@api_key_required
@api_limit
def create_images():
    """Generate synchronously: 200 with the images once the job is done."""
    body = json_object()
    fmt = response_format(body, RESPONSE_FORMATS)
    view = run_sync(body, "api")
    images = []
    for image in view["images"]:
        item = {"url": url_for("api.image_file", image_id=image["id"], _external=True)}
        item["seed"] = image["seed"]
        if fmt == "b64_png":
            item["b64_png"] = png_base64(image["id"])
        images.append(item)
    return jsonify(id=view["id"], created=view["created"], model=view["model"], images=images)


@bp.post("/jobs")
@api_key_required
@api_limit
def create_job():
    """Queue a job: 202 with where to follow it."""
    job = get_generation_service().submit(json_object(), g.requester, "api")
    status_url = url_for("api.get_job", job_id=job.id)
    body = {
        "id": job.id,
        "status": "queued",
        "status_url": status_url,
        "events_url": url_for("api.job_events", job_id=job.id),
    }
    return jsonify(body), 202, {"Location": status_url}


def _admin() -> bool:
    """Admin keys may see and cancel every job."""
    return bool(g.api_key.is_admin)


@bp.get("/jobs/<job_id>")
@api_key_required
def get_job(job_id: str):
    """A job's status, progress (0–1) and, when done, its images."""
    return jsonify(get_generation_service().job_view(job_id, g.requester, _admin()))


@bp.get("/jobs/<job_id>/events")
@api_key_required
def job_events(job_id: str):
    """Server-sent events: 'progress' while it runs, 'done' with the final view."""
    events = get_generation_service().events(job_id, g.requester, _admin())
    response = Response(stream_with_context(events), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.delete("/jobs/<job_id>")
@api_key_required
def cancel_job(job_id: str):
    """Cancel a queued or running job."""
    return jsonify(get_generation_service().cancel(job_id, g.requester, _admin()))


@bp.get("/images/<image_id>.png")
@api_key_required
def image_file(image_id: str):
    """A stored PNG, for the key that made it or an admin key."""
    path = get_generation_service().image_file(image_id, g.requester, _admin())
    return send_file(path, mimetype="image/png", max_age=3600)
