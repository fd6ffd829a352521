"""Which refusals an admin asked for: one definition for the log's page, its JSON API and schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, String, cast

from safety.verdict import CATEGORIES, STAGES
from webapp.errors import InvalidRequest
from webapp.models import OUTCOMES, REVIEW_STATUSES, USER_REPORT, Refusal, as_utc
from webapp.params import clean_text

NAMES = ("outcome", "stage", "category", "since", "until", "requester", "review_status")
CHOICES = {
    "outcome": OUTCOMES,
    "stage": (*STAGES, USER_REPORT),
    "category": CATEGORIES,
    "review_status": REVIEW_STATUSES,
}


@dataclass(frozen=True)
class RefusalFilters:
    """The filters of a moderation log query; None filters nothing."""

    outcome: str | None = None  # refused or guarded
    stage: str | None = None
    category: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    requester: str | None = None
    review_status: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], whole_days: bool = False) -> RefusalFilters:
        """Filters from query arguments, checked up front.

        ``since`` and ``until`` are ISO dates or datetimes (UTC when naive). With
        ``whole_days`` (the page's date fields) an ``until`` date includes that day.

        Raises:
            InvalidRequest: naming the first argument that is not one of its choices or not a
                date.
        """
        raw = {name: args.get(name, "").strip() for name in NAMES}
        for name, allowed in CHOICES.items():
            if raw[name] and raw[name] not in allowed:
                raise InvalidRequest(f"'{name}' must be one of {', '.join(allowed)}.", name)
        return cls(
            outcome=raw["outcome"] or None,
            stage=raw["stage"] or None,
            category=raw["category"] or None,
            since=parse_moment("since", raw["since"]),
            until=parse_moment("until", raw["until"], next_day=whole_days),
            requester=clean_text("requester", raw["requester"]) or None,
            review_status=raw["review_status"] or None,
        )

    def where(self, stmt: Select) -> Select:
        """``stmt``, a select over Refusal, narrowed to these filters."""
        if self.outcome:
            stmt = stmt.where(Refusal.outcome == self.outcome)
        if self.stage:
            stmt = stmt.where(Refusal.stage == self.stage)
        if self.category:
            # categories is a JSON list; matching the quoted name keeps "sexual" apart from
            # "sexual/minors" on SQLite and PostgreSQL alike.
            stmt = stmt.where(cast(Refusal.categories, String).like(f'%"{self.category}"%'))
        if self.since:
            stmt = stmt.where(Refusal.created_at >= self.since)
        if self.until:
            stmt = stmt.where(Refusal.created_at < self.until)
        if self.requester:
            stmt = stmt.where(Refusal.requester == self.requester)
        if self.review_status:
            stmt = stmt.where(Refusal.review_status == self.review_status)
        return stmt


def link_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filter arguments that were given, to keep them in links (pages, export, review)."""
    return {name: value for name in NAMES if (value := args.get(name, "").strip())}


def parse_moment(name: str, raw: str, next_day: bool = False) -> datetime | None:
    """An ISO date (its midnight, or the next one) or datetime, as aware UTC."""
    if not raw:
        return None
    try:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        return as_utc(datetime.combine(day + timedelta(days=int(next_day)), time.min))
    except (ValueError, OverflowError):
        raise InvalidRequest(f"'{name}' must be an ISO date or datetime.", name) from None
