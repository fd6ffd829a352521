"""/admin/api: the refusal log as JSON, for admin API keys and admin sessions."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_login import current_user

from webapp.api import json_object
from webapp.auth import api_key_from_request, require_admin
from webapp.errors import InvalidRequest
from webapp.params import clean_text, query_int
from webapp.refusal_filters import RefusalFilters
from webapp.refusal_log import MAX_PER_PAGE, get_refusal_log, refusal_dict

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
bp.before_request(require_admin)


def _int(name: str, default: int, high: int) -> int:
    """A positive integer query argument, at most ``high``."""
    return query_int(name, request.args.get(name), default, high)


@bp.get("/refusals")
def list_refusals():
    """Refusals newest first, filtered and paginated."""
    filters = RefusalFilters.from_args(request.args)
    page, per_page = _int("page", 1, 10**6), _int("per_page", 50, MAX_PER_PAGE)
    rows, total = get_refusal_log().query(filters, page=page, per_page=per_page)
    items = [refusal_dict(r) for r in rows]
    return jsonify(items=items, total=total, page=page, per_page=per_page)


@bp.get("/refusals/daily")
def refusals_per_day():
    """Refusal counts per UTC day and category (same filters)."""
    return jsonify(items=get_refusal_log().counts_per_day(RefusalFilters.from_args(request.args)))


@bp.post("/refusals/<int:refusal_id>/review")
def review_refusal(refusal_id: int):
    """Confirm a refusal, mark it a false positive, or reset it, with an optional note."""
    if api_key_from_request() is None and not request.is_json:
        # A session's cookie rides along on cross-site form posts; JSON cannot be sent so.
        raise InvalidRequest("Send the review as application/json.")
    body = json_object()
    status, note = body.get("status"), body.get("note")
    if not isinstance(status, str):
        raise InvalidRequest("'status' is required.", param="status")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise InvalidRequest("'note' must be a string of at most 2000 characters.", "note")
    note = None if note is None else clean_text("note", note)
    reviewer = current_user.username if current_user.is_authenticated else g.requester
    row = get_refusal_log().review(refusal_id, status, reviewer, note)
    return jsonify(refusal_dict(row))
