"""/api/v1: synchronous images, asynchronous jobs with events, and image files."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, send_file, url_for

from webapp.api import generate_sync, image_url, json_object, png_base64, response_format
from webapp.api.signed_images import signed_image_url
from webapp.auth import require_api_key
from webapp.feedback import get_feedback_book, parse_feedback
from webapp.generation_service import get_generation_service
from webapp.job_filters import MAX_PER_PAGE, JobFilters
from webapp.job_views import sse_response
from webapp.limits import api_limit
from webapp.params import query_int
from webapp.safeguards import moderation_outcome

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(require_api_key)

RESPONSE_FORMATS = ("url", "b64_png")


@bp.post("/images")
@api_limit
def create_images():
    """Generate synchronously: 200 with the images once the job is done."""
    body = json_object()
    fmt = response_format(body, RESPONSE_FORMATS)
    view = generate_sync(body, "api")
    images = []
    for image in view["images"]:
        item = {
            "url": image_url(image["id"]),
            "signed_url": signed_image_url(image["id"]),
            "seed": image["seed"],
        }
        if fmt == "b64_png":
            item["b64_png"] = png_base64(image["id"])
        images.append(item)
    return jsonify(
        id=view["id"],
        created=view["created"],
        model=view["model"],
        images=images,
        moderation=view["moderation"],
    )


@bp.post("/jobs")
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
        "moderation": moderation_outcome(job.moderation),
    }
    return jsonify(body), 202, {"Location": status_url}


def _admin() -> bool:
    """Admin keys may see and cancel every job."""
    return bool(g.api_key.is_admin)


@bp.get("/jobs")
def list_jobs():
    """This key's own jobs, newest first, filtered and paginated (admin keys too)."""
    filters = JobFilters.from_args(request.args)
    page = query_int("page", request.args.get("page"), 1, 10**6)
    per_page = query_int("per_page", request.args.get("per_page"), 50, MAX_PER_PAGE)
    items, total = get_generation_service().list_jobs(g.requester, filters, page, per_page)
    return jsonify(items=items, total=total, page=page, per_page=per_page)


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """A job's status, progress (0–1) and, when done, its images."""
    return jsonify(get_generation_service().job_view(job_id, g.requester, _admin()))


@bp.get("/jobs/<job_id>/events")
def job_events(job_id: str):
    """Server-sent events: 'progress' while it runs, 'done' with the final view."""
    return sse_response(get_generation_service().events(job_id, g.requester, _admin()))


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str):
    """Cancel a queued or running job."""
    return jsonify(get_generation_service().cancel(job_id, g.requester, _admin()))


@bp.get("/images/<image_id>.png")
def image_file(image_id: str):
    """A stored PNG, for the key that made it or an admin key."""
    png = get_generation_service().image_file(image_id, g.requester, _admin())
    response = send_file(png, mimetype="image/png", max_age=3600)
    # It needs a key: the client may keep it, no shared cache may.
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.post("/images/<image_id>/feedback")
def image_feedback(image_id: str):
    """Thumbs up/down (changeable) and/or a report, by the key that made the image or an admin."""
    given = parse_feedback(json_object())
    return jsonify(get_feedback_book().give(image_id, g.requester, _admin(), given, "api"))
