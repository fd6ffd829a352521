"""The browser studio: the prompt form, job progress for the page, images and history."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from safety.verdict import CATEGORIES, CATEGORY_DESCRIPTIONS
from webapp.admin.routes import safe_next
from webapp.api import json_object
from webapp.auth import is_admin_request
from webapp.errors import ApiError, NotFound, wants_json
from webapp.feedback import get_feedback_book, parse_feedback
from webapp.generation_service import get_generation_service
from webapp.job_views import sse_response
from webapp.jobs import FINAL_STATES
from webapp.limits import form_limit
from webapp.params import query_int
from webapp.safeguards import moderation_outcome
from webapp.studio_form import form_options, is_pixel_art, params_from_form, reuse_values

bp = Blueprint("studio", __name__)
HISTORY_PER_PAGE = 24


def browser_requester() -> str:
    """The requester id of this browser: a random id kept in its signed session cookie."""
    if "visitor" not in session:
        session["visitor"] = secrets.token_urlsafe(12)
        session.permanent = True  # history should outlive closing the tab
    return f"web:{session['visitor']}"


@bp.get("/")
def index():
    """The prompt form; ``?reuse=<image id>`` fills it with the settings of that image."""
    requester = browser_requester()
    values: dict[str, str] = {}
    if request.args.get("reuse"):
        image, params = get_generation_service().image_settings(request.args["reuse"], requester)
        values = reuse_values(params, image.seed)
    return render_template("index.html", options=form_options(), values=values)


@bp.post("/jobs")
@form_limit
def submit():
    """Queue a job from the form: JSON for the page's script, a redirect without script."""
    svc = get_generation_service()
    try:
        job = svc.submit(params_from_form(request.form), browser_requester(), source="form")
    except ApiError as exc:
        if wants_json():
            raise
        return _form_with_error(exc)
    if not wants_json():
        return redirect(url_for("studio.job", job_id=job.id), code=303)
    body = {
        "id": job.id,
        "status_url": url_for("studio.job", job_id=job.id),
        "events_url": url_for("studio.job_events", job_id=job.id),
        "moderation": moderation_outcome(job.moderation),
    }
    return jsonify(body), 202


def _form_with_error(exc: ApiError) -> tuple[str, int]:
    """Re-render the form with the user's values and a message (the no-script path)."""
    moderation = exc.extra.get("moderation") if exc.extra else None
    page = render_template(
        "index.html",
        options=form_options(),
        values=request.form,
        error={"message": exc.message, "param": exc.param, "moderation": moderation},
    )
    return page, exc.status


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """A job's status: JSON for the page's script, an auto-refreshing page without script."""
    view = get_generation_service().job_view(job_id, browser_requester(), is_admin_request())
    if wants_json():
        return jsonify(view)
    mine = get_feedback_book().mine([i["id"] for i in view["images"]], browser_requester())
    cards = [
        image_card(i["id"], i["seed"], view["params"], feedback=mine.get(i["id"]))
        for i in view["images"]
    ]
    final = view["status"] in FINAL_STATES
    return render_template("job.html", job=view, images=cards, final=final)


@bp.get("/jobs/<job_id>/events")
def job_events(job_id: str):
    """Server-sent events for one job, until it reaches a final state."""
    events = get_generation_service().events(job_id, browser_requester(), is_admin_request())
    return sse_response(events)


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str):
    """Cancel one of this browser's jobs."""
    view = get_generation_service().cancel(job_id, browser_requester(), is_admin_request())
    if wants_json():
        return jsonify(view)
    return redirect(url_for("studio.job", job_id=job_id), code=303)


@bp.get("/images/<image_id>.png")
def image(image_id: str):
    """One of this browser's images; ``?download=1`` saves it instead of showing it."""
    png = get_generation_service().image_file(image_id, browser_requester(), is_admin_request())
    download = request.args.get("download") == "1"
    response = send_file(
        png,
        mimetype="image/png",
        as_attachment=download,
        download_name=f"safecanvas-{image_id}.png",
        max_age=3600,
    )
    # Only its owner may see an image, so no shared cache may keep a copy.
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.post("/images/<image_id>/feedback")
def feedback(image_id: str):
    """Thumbs and reports: JSON from the page's script, or its plain form (then back)."""
    given = parse_feedback(json_object() if request.is_json else _feedback_form())
    answer = get_feedback_book().give(
        image_id, browser_requester(), is_admin_request(), given, "form"
    )
    if wants_json():
        return jsonify(answer)
    flash("Reported for review. Thank you." if given.reason else "Thanks for your vote.", "info")
    return redirect(safe_next(request.form.get("next"), url_for("studio.history")), code=303)


def _feedback_form() -> dict[str, Any]:
    """The feedback form's fields as the JSON body the API takes."""
    form = request.form
    body: dict[str, Any] = {}
    if form.get("vote"):
        body["vote"] = form["vote"]
    if form.get("report"):
        body["report"] = {"reason": form.get("reason", ""), "category": form.get("category")}
    return body


@bp.app_context_processor
def report_categories() -> dict[str, Any]:
    """What a report may name, for the feedback forms of every page."""
    return {"report_categories": [(c, CATEGORY_DESCRIPTIONS[c]) for c in CATEGORIES]}


@bp.get("/history")
def history():
    """This browser's images, newest first, a page at a time."""
    page = query_int("page", request.args.get("page"), 1, 10**6)
    rows, total = get_generation_service().history_page(browser_requester(), page, HISTORY_PER_PAGE)
    pages = max(1, -(-total // HISTORY_PER_PAGE))
    if page > pages:
        raise NotFound(f"There is no page {page} of your history.")
    mine = get_feedback_book().mine([i.id for i, _params in rows], browser_requester())
    images = [
        image_card(
            i.id, i.seed, params, prompt=i.prompt, created_at=i.created_at, feedback=mine.get(i.id)
        )
        for i, params in rows
    ]
    return render_template("history.html", images=images, page=page, pages=pages, total=total)


def image_card(image_id: str, seed: int, params: dict[str, Any], **shown: Any) -> dict[str, Any]:
    """What an image card shows: the image at its own aspect (crisp pixels only when tiny).

    ``shown``: more for the card to show (``prompt``, ``created_at``).
    """
    width, height = params.get("width"), params.get("height")
    return {
        "id": image_id,
        "seed": seed,
        "width": width or 256,
        "height": height or 256,
        "pixel": is_pixel_art(width, height),
        "size": f"{width}x{height}" if width and height else None,
        "model": params.get("model"),
        **shown,
    }
