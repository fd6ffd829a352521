"""Feedback on images: a requester's thumbs up or down (changeable) and their report.

A report is an entry of the moderation log with stage ``user_report``, so admins review what
the image check missed beside what it caught. Only an image's requester or an admin may give
feedback; each requester has one vote per image and may report it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from safety.verdict import CATEGORIES
from webapp.db import session_factory, session_scope
from webapp.errors import Conflict, InvalidRequest, NotFound
from webapp.job_views import is_uuid
from webapp.metrics import count_feedback_vote, count_user_report
from webapp.models import USER_REPORT, VOTES, Image, ImageFeedback, Job, Refusal, utcnow
from webapp.params import clean_text

EXTENSION = "safecanvas.feedback"
MAX_REASON_CHARS = 500
FIELDS = ("vote", "report")
VOTE_NAMES = {number: name for name, number in VOTES.items()}


@dataclass(frozen=True)
class Feedback:
    """What one request says: a vote (None leaves it as it is) and/or a report."""

    vote: str | None = None
    reason: str | None = None  # a report's reason; None: no report
    category: str | None = None  # a report's policy category, when the reporter named one


def parse_feedback(body: Mapping[str, Any]) -> Feedback:
    """Check a feedback body up front: ``vote`` and/or ``report: {reason, category}``.

    Raises:
        InvalidRequest: naming the first field that is unknown, missing or malformed.
    """
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidRequest(f"Unknown field '{unknown[0]}'.", param=unknown[0])
    vote, report = body.get("vote"), body.get("report")
    if vote is None and report is None:
        raise InvalidRequest("Send a 'vote' (up, down or none), a 'report', or both.", "vote")
    if vote is not None and (not isinstance(vote, str) or vote not in VOTES):
        raise InvalidRequest("'vote' must be one of up, down, none.", param="vote")
    if report is None:
        return Feedback(vote=vote)
    if not isinstance(report, dict) or set(report) - {"reason", "category"}:
        raise InvalidRequest("'report' must be an object with 'reason' (and 'category').", "report")
    reason, category = report.get("reason"), report.get("category") or None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise InvalidRequest(
            f"'report.reason' must be text of 1 to {MAX_REASON_CHARS} characters.", "report"
        )
    if category is not None and (not isinstance(category, str) or category not in CATEGORIES):
        raise InvalidRequest(f"'report.category' must be one of {', '.join(CATEGORIES)}.", "report")
    return Feedback(vote, clean_text("report.reason", reason.strip()), category)


class FeedbackBook:
    """Records feedback and tells a requester what they said about their images."""

    def __init__(self, factory: sessionmaker) -> None:
        """Read and write through ``factory`` sessions."""
        self.factory = factory

    def give(
        self, image_id: str, requester: str, is_admin: bool, given: Feedback, source: str
    ) -> dict[str, Any]:
        """Record a vote and/or a report on an image; returns the requester's feedback on it.

        Raises:
            NotFound: no such image, or not the requester's (and they are not an admin).
            Conflict: they reported this image before.
        """
        try:
            return self._give(image_id, requester, is_admin, given, source)
        except IntegrityError:  # a concurrent first vote of the same requester won the insert
            return self._give(image_id, requester, is_admin, given, source)

    def _give(
        self, image_id: str, requester: str, is_admin: bool, given: Feedback, source: str
    ) -> dict[str, Any]:
        """One attempt of ``give``, in one transaction."""
        with session_scope(self.factory) as session:
            image = session.get(Image, image_id) if is_uuid(image_id) else None
            if image is None or not (is_admin or image.requester == requester):
                raise NotFound(f"No image with id {image_id}.")
            row = session.scalar(
                select(ImageFeedback).where(
                    ImageFeedback.image_id == image_id, ImageFeedback.requester == requester
                )
            )
            if row is None:
                row = ImageFeedback(image_id=image_id, requester=requester, vote=0)
                session.add(row)
            if given.reason is not None:
                if row.report_id is not None:
                    raise Conflict(
                        "You reported this image already; an administrator will review it."
                    )
                row.report_id = _report(session, image, requester, source, given).id
            if given.vote is not None:
                row.vote = VOTES[given.vote]
            row.updated_at = utcnow()
            session.flush()
            answer = feedback_dict(row, image.model_version)
        if given.vote is not None:
            count_feedback_vote(image.model_version, given.vote)
        if given.reason is not None:
            count_user_report(image.model_version, given.category)
        return answer

    def mine(self, image_ids: Iterable[str], requester: str) -> dict[str, dict[str, Any]]:
        """The requester's feedback on each of these images that they gave any on."""
        ids = [i for i in image_ids if is_uuid(i)]
        if not ids:
            return {}
        with session_scope(self.factory) as session:
            rows = session.scalars(
                select(ImageFeedback).where(
                    ImageFeedback.image_id.in_(ids), ImageFeedback.requester == requester
                )
            ).all()
            return {row.image_id: feedback_dict(row) for row in rows}


def _report(
    session: Session, image: Image, requester: str, source: str, given: Feedback
) -> Refusal:
    """A moderation log entry for a user's report of an image, to be reviewed like the others."""
    job = session.get(Job, image.job_id)
    negative = (job.params or {}).get("negative_prompt") if job is not None else None
    entry = Refusal(
        outcome="reported",
        stage=USER_REPORT,
        categories=[given.category] if given.category else [],
        scores={},
        matched_terms=[],
        reason=given.reason,
        prompt=image.prompt,
        negative_prompt=negative or "",
        requester=requester,
        source=source,
        model_version=image.model_version,
        moderator_version=image.moderator_version,
        job_id=image.job_id,
        image_id=image.id,
        review_status="unreviewed",
    )
    session.add(entry)
    session.flush()
    return entry


def feedback_dict(row: ImageFeedback, model: str | None = None) -> dict[str, Any]:
    """A requester's feedback on one image as JSON."""
    answer = {
        "image_id": row.image_id,
        "vote": VOTE_NAMES.get(row.vote or 0, "none"),
        "reported": row.report_id is not None,
        "report_id": row.report_id,
    }
    return answer | ({"model": model} if model is not None else {})


def init_app(app: Flask) -> None:
    """Attach the app's feedback book."""
    app.extensions[EXTENSION] = FeedbackBook(session_factory(app))


def get_feedback_book(app: Flask | None = None) -> FeedbackBook:
    """The current app's feedback book."""
    return (app or current_app).extensions[EXTENSION]
