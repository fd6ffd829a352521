"""Which of their jobs a requester asked for (``GET /api/v1/jobs``), and the page of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select

from webapp.errors import InvalidRequest
from webapp.jobs import FINAL_STATES
from webapp.models import Job
from webapp.params import clean_text
from webapp.refusal_filters import parse_moment

NAMES = ("status", "since", "until", "model")
JOB_STATUSES = ("queued", "running", *sorted(FINAL_STATES))
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class JobFilters:
    """The filters of a job listing; None filters nothing."""

    status: str | None = None
    since: datetime | None = None  # inclusive, on the job's creation time
    until: datetime | None = None  # exclusive
    model: str | None = None  # the model version the job asked for or ran on

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> JobFilters:
        """Filters from query arguments: ``since``/``until`` are ISO dates or datetimes.

        Raises:
            InvalidRequest: naming the first argument that is not one of its choices or not a
                date.
        """
        raw = {name: args.get(name, "").strip() for name in NAMES}
        if raw["status"] and raw["status"] not in JOB_STATUSES:
            raise InvalidRequest(f"'status' must be one of {', '.join(JOB_STATUSES)}.", "status")
        return cls(
            status=raw["status"] or None,
            since=parse_moment("since", raw["since"]),
            until=parse_moment("until", raw["until"]),
            model=clean_text("model", raw["model"]) or None,
        )

    def where(self, stmt: Select) -> Select:
        """``stmt``, a select over Job, narrowed to these filters."""
        if self.status:
            stmt = stmt.where(Job.status == self.status)
        if self.since:
            stmt = stmt.where(Job.created_at >= self.since)
        if self.until:
            stmt = stmt.where(Job.created_at < self.until)
        if self.model:
            stmt = stmt.where(Job.model_version == self.model)
        return stmt
