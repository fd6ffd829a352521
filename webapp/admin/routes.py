"""/admin: login, the moderation log (filters, review, chart, CSV) and model versions."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from generation.errors import GenerationError
from webapp.admin.chart import build_chart
from webapp.admin.export import refusals_csv
from webapp.admin.marks import show_invisible
from webapp.auth import admin_required, end_sessions, verify_password
from webapp.db import get_session
from webapp.errors import TooManyRequests
from webapp.limits import client_ip, get_login_throttle, limiter
from webapp.loaded_models import get_loaded_models
from webapp.models import User, utcnow
from webapp.params import query_int
from webapp.refusal_filters import CHOICES, RefusalFilters, link_args
from webapp.refusal_log import MAX_PER_PAGE, get_refusal_log

bp = Blueprint("admin", __name__, url_prefix="/admin")

LOGIN_FAILED = "Wrong username or password, or not an administrator."
PER_PAGE = 25
MAX_PAGE = 10**6
EXPORT_MAX_ROWS = 20_000
REVIEW_LABELS = {
    "confirmed": "Confirmed",
    "false_positive": "False positive",
    "should_refuse": "Should refuse",
}


def parse_page(raw: str | None) -> int:
    """A page number from the query string (1 when absent); 400 for anything else."""
    return query_int("page", raw, 1, MAX_PAGE)


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after login; anything else (``//evil``, ``https:``) is ignored.

    Control characters would break the Location header; browsers read a backslash as a slash,
    so ``/\\evil.example`` would leave the site.
    """
    if not target or not target.isprintable() or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/")
def home():
    """The admin area starts at the moderation log."""
    return redirect(url_for("admin.moderation"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    "20/minute", key_func=client_ip, methods=["POST"], deduct_when=lambda r: r.status_code >= 400
)
def login():
    """Show the login form; on POST check the password and start an admin session."""
    next_url = safe_next(request.values.get("next"), url_for("admin.moderation"))
    if request.method == "GET":
        return render_template("admin_login.html", next_url=next_url)
    username, address = request.form.get("username", "").strip(), client_ip()
    throttle = get_login_throttle()
    try:
        throttle.check(username, address)
    except TooManyRequests as exc:
        page = render_template("admin_login.html", next_url=next_url, username=username, error=exc)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    user = get_session().scalar(select(User).where(User.username == username))
    if not verify_password(user, request.form.get("password", "")) or not user.is_admin:
        throttle.failed(username, address)
        page = render_template(
            "admin_login.html", next_url=next_url, username=username, error=LOGIN_FAILED
        )
        return page, 401
    throttle.succeeded(username, address)
    login_user(user)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """End the admin session, and every other session of this admin (a copied cookie too)."""
    if current_user.is_authenticated:
        db = get_session()
        end_sessions(db.get(User, current_user.id))
        db.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("admin.login"))


@bp.get("/moderation")
@admin_required
def moderation():
    """One page of the moderation log with the filters, the chart and the review forms."""
    filters = RefusalFilters.from_args(request.args, whole_days=True)
    page = parse_page(request.args.get("page"))
    log = get_refusal_log()
    rows, total = log.query(filters, page=page, per_page=PER_PAGE)
    return render_template(
        "admin_moderation.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=link_args(request.args),
        chart=build_chart(log.counts_per_day(filters)),
        choices=CHOICES,
        review_labels=REVIEW_LABELS,
    )


@bp.post("/moderation/<int:refusal_id>/review")
@admin_required
def review(refusal_id: int):
    """Confirm an entry, mark it a false positive (or a guarded one should-refuse), with a note."""
    status = request.form.get("status", "")
    note = request.form.get("note", "").strip()[:2000] or None
    get_refusal_log().review(refusal_id, status, current_user.username, note)
    flash(f"Entry #{refusal_id} marked {REVIEW_LABELS.get(status, status)}.", "info")
    back = safe_next(request.form.get("next"), url_for("admin.moderation"))
    return redirect(f"{back}#refusal-{refusal_id}", code=303)


@bp.get("/moderation.csv")
@admin_required
def export_csv():
    """Every log entry matching the filters as CSV (newest first)."""
    filters = RefusalFilters.from_args(request.args, whole_days=True)
    log, rows, page = get_refusal_log(), [], 1
    while len(rows) < EXPORT_MAX_ROWS:
        batch, total = log.query(filters, page=page, per_page=MAX_PER_PAGE)
        rows.extend(batch)
        if not batch or len(rows) >= total:
            break
        page += 1
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        refusals_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="refusals-{stamp}.csv"'},
    )


bp.add_app_template_filter(show_invisible, "visible")


@bp.app_template_filter("utc_time")
def utc_time(value: datetime | None) -> str:
    """A stored timestamp as 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@bp.app_template_filter("utc_iso")
def utc_iso(value: datetime | None) -> str:
    """A stored timestamp in ISO 8601, UTC."""
    return value.isoformat() if value else ""


@bp.get("/models")
@admin_required
def models():
    """Every model version, the active one marked."""
    generator = get_loaded_models().generator
    if generator.external:  # a Hub model is one fixed version; nothing to switch
        return render_template("admin_models.html", rows=[], external=generator.model)
    registry = generator.registry
    active = registry.active
    rows = [{"version": v, "active": v.name == active} for v in registry.list()]
    return render_template("admin_models.html", rows=rows, external=None)


@bp.post("/models/activate")
@admin_required
def activate():
    """Make the chosen version the one new jobs use."""
    try:
        version = get_loaded_models().generator.registry.activate(request.form.get("version", ""))
    except GenerationError as exc:  # unknown name, unreadable metadata
        flash(f"Not activated: {exc}", "error")
    else:
        flash(f"Version {version.name} is now active for new jobs.", "info")
    return redirect(url_for("admin.models"), code=303)


@bp.post("/models/rollback")
@admin_required
def rollback():
    """Go back to the version that was active before the current one."""
    try:
        version = get_loaded_models().generator.registry.rollback()
    except GenerationError as exc:  # nothing to roll back to
        flash(f"Not rolled back: {exc}.", "error")
    else:
        flash(f"Rolled back: {version.name} is active again.", "info")
    return redirect(url_for("admin.models"), code=303)
