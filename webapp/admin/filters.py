"""The moderation log's filters, read from the query string and checked up front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from safety.verdict import CATEGORIES, STAGES
from webapp.errors import InvalidRequest
from webapp.refusal_log import REVIEW_STATUSES


@dataclass(frozen=True)
class RefusalFilters:
    """What the admin asked to see; blank fields filter nothing."""

    stage: str = ""
    category: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive
    requester: str = ""
    review_status: str = ""

    def query_args(self) -> dict[str, Any]:
        """Keyword arguments for ``RefusalLog.query`` and ``counts_per_day``."""
        return {
            "stage": self.stage or None,
            "category": self.category or None,
            "since": _day_start(self.since),
            # The form's "until" is a whole day, so the query's exclusive bound is the next one.
            "until": _day_start(self.until, plus_days=1),
            "requester": self.requester or None,
            "review_status": self.review_status or None,
        }

    def url_args(self) -> dict[str, str]:
        """The non-blank filters, to keep them in links (pagination, export, review)."""
        return {k: v for k, v in asdict(self).items() if v}


def parse_filters(args: Mapping[str, str]) -> RefusalFilters:
    """Filters from request args.

    Raises:
        InvalidRequest: a value is not one of the known choices or not a date.
    """
    values = {name: args.get(name, "").strip() for name in RefusalFilters.__dataclass_fields__}
    choices = {"stage": STAGES, "category": CATEGORIES, "review_status": REVIEW_STATUSES}
    for name, allowed in choices.items():
        if values[name] and values[name] not in allowed:
            raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}.", param=name)
    for name in ("since", "until"):
        if values[name]:
            _parse_day(name, values[name])
    return RefusalFilters(**values)


def parse_page(raw: str | None) -> int:
    """A page number from the query string; anything odd means the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _parse_day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date like 2026-01-31.", param=name) from None


def _day_start(raw: str, plus_days: int = 0) -> datetime | None:
    if not raw:
        return None
    day = date.fromisoformat(raw) + timedelta(days=plus_days)
    return datetime.combine(day, time.min, tzinfo=timezone.utc)
