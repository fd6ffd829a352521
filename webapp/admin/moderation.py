"""The moderation log: refusals newest first, filters, review actions, chart and CSV."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from safety.verdict import CATEGORIES, STAGES
from webapp.admin import bp
from webapp.admin.chart import build_chart
from webapp.admin.export import refusals_csv
from webapp.admin.filters import parse_filters, parse_page
from webapp.admin.session_views import safe_next
from webapp.auth import admin_required
from webapp.refusal_log import MAX_PER_PAGE, REVIEW_STATUSES, as_utc, get_refusal_log

PER_PAGE = 25
EXPORT_MAX_ROWS = 20_000
REVIEW_LABELS = {"confirmed": "Confirmed", "false_positive": "False positive"}


@bp.get("/moderation")
@admin_required
def moderation():
    """One page of refusals with the filters, the chart and the review forms."""
    filters = parse_filters(request.args)
    page = parse_page(request.args.get("page"))
    log = get_refusal_log()
    rows, total = log.query(**filters.query_args(), page=page, per_page=PER_PAGE)
    return render_template(
        "admin_moderation.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=filters,
        chart=build_chart(log.counts_per_day(**filters.query_args())),
        choices={"stage": STAGES, "category": CATEGORIES, "review_status": REVIEW_STATUSES},
        review_labels=REVIEW_LABELS,
    )


@bp.post("/moderation/<int:refusal_id>/review")
@admin_required
def review(refusal_id: int):
    """Confirm a refusal or mark it a false positive, with an optional note."""
    status = request.form.get("status", "")
    note = request.form.get("note", "").strip()[:2000] or None
    get_refusal_log().review(refusal_id, status, current_user.username, note)
    flash(f"Refusal #{refusal_id} marked {REVIEW_LABELS.get(status, status)}.", "info")
    back = safe_next(request.form.get("next"), url_for("admin.moderation"))
    return redirect(f"{back}#refusal-{refusal_id}", code=303)


@bp.get("/moderation.csv")
@admin_required
def export_csv():
    """Every refusal matching the filters as CSV (newest first)."""
    filters = parse_filters(request.args)
    log, rows, page = get_refusal_log(), [], 1
    while len(rows) < EXPORT_MAX_ROWS:
        batch, total = log.query(**filters.query_args(), page=page, per_page=MAX_PER_PAGE)
        rows.extend(batch)
        if not batch or len(rows) >= total:
            break
        page += 1
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    return Response(
        refusals_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="refusals-{stamp}.csv"'},
    )


@bp.app_template_filter("utc_time")
def utc_time(value: datetime | None) -> str:
    """A stored timestamp as 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@bp.app_template_filter("utc_iso")
def utc_iso(value: datetime | None) -> str:
    """A stored timestamp in ISO 8601, UTC."""
    return as_utc(value).isoformat() if value else ""
