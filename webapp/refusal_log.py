"""The moderation log: every refused prompt or image and every guarded prompt, for admins.

``RefusalLog.refuse`` is the one way a refusal happens, whichever stage refused: it records the
refusal, counts it in the metrics, cools the requester down and gives the answer they get.
``RefusalLog.record_guarded`` records a prompt generated with safeguards, for review; it cools
nobody down. Admins query and review both (``outcome`` tells them apart).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webapp.db import session_factory, session_scope
from webapp.errors import ContentPolicyViolation, InvalidRequest, NotFound
from webapp.limits import RefusalGuard, get_refusal_guard
from webapp.metrics import observe_guarded, observe_refusal
from webapp.models import REVIEW_STATUSES, Refusal, utcnow
from webapp.params import clean_text
from webapp.refusal_filters import RefusalFilters

if TYPE_CHECKING:
    from generation.types import GenerationRequest
    from safety.verdict import Verdict

EXTENSION = "safecanvas.refusal_log"
NO_FILTERS = RefusalFilters()
MAX_PER_PAGE = 200
MAX_ID = 2**63 - 1  # larger ids overflow the database's integer, so they cannot exist


class RefusalLog:
    """Records refusals and answers the admin's questions about them."""

    def __init__(self, factory: sessionmaker, guard: RefusalGuard) -> None:
        """Write and read through ``factory`` sessions; cool requesters down with ``guard``."""
        self.factory = factory
        self.guard = guard

    def refuse(
        self,
        verdict: Verdict,
        req: GenerationRequest,
        requester: str,
        source: str,
        guard_keys: Sequence[str] | None = None,
        job_id: str | None = None,
    ) -> ContentPolicyViolation:
        """Record a refusal, count it and cool the requester down; returns what they are told.

        ``req`` is validated, so it names the model version. ``guard_keys``: the requester's
        cool-down keys when the refusal happens outside their request (the image check), and
        ``job_id`` the job it ends.
        """
        row = self._record(verdict, req, requester, source, job_id)
        self.guard.record(requester, keys=list(guard_keys) if guard_keys else None)
        categories = list(verdict.categories)
        named = ", ".join(categories) or "unsafe content"
        if verdict.stage == "image":
            message = f"A generated image was refused by moderation ({named})."
        else:
            message = f"The prompt was refused by the content policy ({named})."
            message += " The refusal was logged."
        answer = ContentPolicyViolation(
            message,
            param="prompt",
            extra={"moderation": refused_outcome(verdict.stage, categories)},
        )
        answer.refusal_id = row.id
        return answer

    def record_guarded(
        self, verdict: Verdict, req: GenerationRequest, requester: str, source: str, job_id: str
    ) -> Refusal:
        """Record a prompt that is generated with safeguards (a ``guard`` verdict), for review."""
        return self._record(verdict, req, requester, source, job_id)

    def _record(
        self,
        verdict: Verdict,
        req: GenerationRequest,
        requester: str,
        source: str,
        job_id: str | None,
    ) -> Refusal:
        """One entry for a validated request."""
        return self.record(
            verdict, req.prompt, req.negative_prompt, requester, source, req.version, job_id
        )

    def record(
        self,
        verdict: Verdict,
        prompt: str,
        negative_prompt: str,
        requester: str,
        source: str,
        model_version: str | None,
        job_id: str | None = None,
    ) -> Refusal:
        """Store one entry from a moderation ``Verdict`` and count it in the metrics.

        A ``guard`` verdict is stored as ``guarded``, any other as ``refused``.
        """
        guarded = verdict.action == "guard"
        row = Refusal(
            outcome="guarded" if guarded else "refused",
            stage=verdict.stage,
            categories=list(verdict.categories),
            scores={k: float(v) for k, v in dict(verdict.scores).items()},
            matched_terms=list(verdict.matched_terms),
            reason=verdict.reason or "",
            prompt=prompt,
            negative_prompt=negative_prompt or "",
            requester=requester,
            source=source,
            model_version=model_version,
            moderator_version=verdict.moderator_version or "unknown",
            language=verdict.language or "",
            job_id=job_id,
            review_status="unreviewed",
        )
        with session_scope(self.factory) as session:
            session.add(row)
        observe = observe_guarded if guarded else observe_refusal
        observe(row.stage, row.categories, row.model_version)
        return row

    def query(
        self, filters: RefusalFilters = NO_FILTERS, page: int = 1, per_page: int = 50
    ) -> tuple[list[Refusal], int]:
        """One page of the refusals that match, newest first, and how many match in all."""
        page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
        with session_scope(self.factory) as session:
            total = session.scalar(filters.where(select(func.count(Refusal.id))))
            rows = session.scalars(
                filters.where(select(Refusal))
                .order_by(Refusal.created_at.desc(), Refusal.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
        return list(rows), int(total or 0)

    def counts_per_day(self, filters: RefusalFilters = NO_FILTERS) -> list[dict[str, Any]]:
        """Refusals that match per UTC day and category, oldest day first (the admin chart)."""
        stmt = filters.where(select(Refusal.created_at, Refusal.categories))
        counts: Counter[tuple[str, str]] = Counter()
        with session_scope(self.factory) as session:
            for created, categories in session.execute(stmt):
                for category in categories or ["unspecified"]:
                    counts[(created.date().isoformat(), category)] += 1
        return [
            {"day": day, "category": category, "count": n}
            for (day, category), n in sorted(counts.items())
        ]

    def review(self, refusal_id: int, status: str, reviewer: str, note: str | None) -> Refusal:
        """Mark an entry confirmed, a false positive, should-refuse (guarded ones) or unreviewed."""
        if status not in REVIEW_STATUSES:
            raise InvalidRequest(
                f"status must be one of {', '.join(REVIEW_STATUSES)}.", param="status"
            )
        note = clean_text("note", note) if note else note
        with session_scope(self.factory) as session:
            row = session.get(Refusal, refusal_id) if 0 < refusal_id <= MAX_ID else None
            if row is None:
                raise NotFound(f"No refusal with id {refusal_id}.")
            if status == "should_refuse" and row.outcome != "guarded":
                raise InvalidRequest(
                    "should_refuse is for guarded entries; confirm a refusal instead.", "status"
                )
            row.review_status = status
            row.reviewer = reviewer
            row.review_note = note
            row.reviewed_at = utcnow() if status != "unreviewed" else None
        return row


def refusal_dict(row: Refusal) -> dict[str, Any]:
    """A refusal as JSON for admins (the prompt is data: escape it when rendering HTML)."""
    return {
        "id": row.id,
        "created": row.created_at.isoformat(),
        "outcome": row.outcome,
        "stage": row.stage,
        "categories": row.categories,
        "scores": row.scores,
        "matched_terms": row.matched_terms,
        "reason": row.reason,
        "prompt": row.prompt,
        "negative_prompt": row.negative_prompt,
        "requester": row.requester,
        "source": row.source,
        "model_version": row.model_version,
        "moderator_version": row.moderator_version,
        "language": row.language,
        "job_id": row.job_id,
        "image_id": row.image_id,
        "review_status": row.review_status,
        "reviewer": row.reviewer,
        "review_note": row.review_note,
        "reviewed_at": row.reviewed_at and row.reviewed_at.isoformat(),
    }


def refused_outcome(stage: str, categories: Sequence[str]) -> dict[str, Any]:
    """The ``moderation`` object of a refusal's answer (never the matched words)."""
    return {"action": "refuse", "stage": stage, "categories": list(categories)}


def init_app(app: Flask) -> None:
    """Attach the app's refusal log."""
    app.extensions[EXTENSION] = RefusalLog(session_factory(app), get_refusal_guard(app))


def get_refusal_log(app: Flask | None = None) -> RefusalLog:
    """The current app's refusal log."""
    return (app or current_app).extensions[EXTENSION]
