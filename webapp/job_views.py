"""Read side of jobs: status views, server-sent events, image files and history."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, has_request_context, stream_with_context, url_for
from sqlalchemy import func, select

from webapp.db import session_scope
from webapp.errors import NotFound
from webapp.image_store import ImageMissing
from webapp.job_filters import JobFilters
from webapp.jobs import FINAL_STATES
from webapp.models import Image, Job, Refusal
from webapp.policy import policy_url
from webapp.refusal_log import refused_outcome
from webapp.safeguards import moderation_outcome

EVENT_POLL_S = 0.25
KEEPALIVE_S = 15.0


def is_uuid(value: str) -> bool:
    """Whether a path id can be one of ours (anything else is simply not found)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def sse_response(events: Iterator[str]) -> Response:
    """Stream server-sent events to the client as they come, past any buffering proxy."""
    response = Response(stream_with_context(events), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the stream
    return response


class JobViews:
    """What requesters (and admins) may see of jobs; mixed into GenerationService."""

    def _job(self, session, job_id: str, requester: str, is_admin: bool) -> Job:
        """A job its requester (or an admin) may see; NotFound otherwise."""
        job = session.get(Job, job_id) if is_uuid(job_id) else None
        if job is None or not (is_admin or job.requester == requester):
            raise NotFound(f"No job with id {job_id}.")
        return job

    def job_view(self, job_id: str, requester: str, is_admin: bool) -> dict[str, Any]:
        """The job as JSON: status, progress, error and images."""
        with session_scope(self.factory) as session:
            job = self._job(session, job_id, requester, is_admin)
            return self._view(session, job)

    def _view(self, session, job: Job, images: list[Image] | None = None) -> dict[str, Any]:
        """The JSON view of a job row; ``moderation`` says how its prompt was judged,
        ``request_id`` which request made it (its X-Request-ID, to find its log lines).

        ``images``: its images, when fetched already.
        """
        if images is None:
            images = session.scalars(
                select(Image).where(Image.job_id == job.id).order_by(Image.position)
            ).all()
        error = None
        if job.error_code:
            error = {"code": job.error_code, "message": job.error_message}
            refusal = session.get(Refusal, job.refusal_id) if job.refusal_id else None
            if refusal is not None:
                error["moderation"] = refused_outcome(refusal.stage, refusal.categories)
                error["policy_url"] = policy_url()
        return {
            "id": job.id,
            "status": job.status,
            "progress": round(float(job.progress or 0.0), 3),
            "error": error,
            "images": [
                {"id": i.id, "url": self.image_url(i.id, job.requester), "seed": i.seed}
                for i in images
            ],
            "created": int(job.created_at.timestamp()),
            "model": job.model_version,
            "params": dict(job.params or {}),
            "moderation": moderation_outcome(job.moderation),
            "request_id": job.request_id,
        }

    def list_jobs(
        self, requester: str, filters: JobFilters, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the requester's own jobs, newest first, and how many match in all."""
        with session_scope(self.factory) as session:
            where = filters.where(select(Job).where(Job.requester == requester))
            total = session.scalar(select(func.count()).select_from(where.subquery()))
            jobs = session.scalars(
                where.order_by(Job.created_at.desc(), Job.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
            images: dict[str, list[Image]] = {job.id: [] for job in jobs}
            if jobs:  # one query for the page's images, not one per job
                stmt = select(Image).where(Image.job_id.in_(images)).order_by(Image.position)
                for image in session.scalars(stmt):
                    images[image.job_id].append(image)
            return [self._view(session, job, images[job.id]) for job in jobs], total or 0

    def image_url(self, image_id: str, requester: str) -> str:
        """API keys fetch images from /api/v1; browsers from the studio's route."""
        endpoint = "api.image_file"
        if not requester.startswith("key:") and "studio.image" in self.app.view_functions:
            endpoint = "studio.image"
        if has_request_context():
            return url_for(endpoint, image_id=image_id)
        return f"/api/v1/images/{image_id}.png"

    def events(self, job_id: str, requester: str, is_admin: bool) -> Iterator[str]:
        """Server-sent events ('progress', then 'done') until the job reaches a final state.

        Raises NotFound before streaming when the job is not the requester's.
        """
        first = self.job_view(job_id, requester, is_admin)
        return self._stream(job_id, first)

    def _stream(self, job_id: str, view: dict[str, Any]) -> Iterator[str]:
        """Yield an event whenever the view changes, until a final state (bounded)."""
        deadline = time.monotonic() + self.timeout_s + 30
        last_sent, last_beat = None, time.monotonic()
        while True:
            if view != last_sent:
                final = view["status"] in FINAL_STATES
                yield f"event: {'done' if final else 'progress'}\ndata: {json.dumps(view)}\n\n"
                last_sent, last_beat = view, time.monotonic()
                if final:
                    return
            elif time.monotonic() - last_beat > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_beat = time.monotonic()
            if time.monotonic() > deadline:
                return
            time.sleep(EVENT_POLL_S)
            with session_scope(self.factory) as session:
                view = self._view(session, session.get(Job, job_id))

    def image_file(self, image_id: str, requester: str, is_admin: bool) -> IO[bytes]:
        """A stored PNG (open, binary) for its owner or an admin; NotFound for anyone else."""
        with session_scope(self.factory) as session:
            image = session.get(Image, image_id) if is_uuid(image_id) else None
            if image is None or not (is_admin or image.requester == requester):
                raise NotFound(f"No image with id {image_id}.")
            key = image.path
        try:
            return self.images.open(key)
        except ImageMissing:
            raise NotFound(f"The file of image {image_id} is gone.") from None

    def history_page(
        self, requester: str, page: int, per_page: int
    ) -> tuple[list[tuple[Image, dict[str, Any]]], int]:
        """A page of the requester's images, newest first, each with its job's settings."""
        with session_scope(self.factory) as session:
            total = session.scalar(
                select(func.count()).select_from(Image).where(Image.requester == requester)
            )
            rows = session.execute(
                select(Image, Job.params)
                .join(Job, Job.id == Image.job_id)
                .where(Image.requester == requester)
                .order_by(Job.created_at.desc(), Job.id, Image.position)
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
            return [(image, dict(params or {})) for image, params in rows], total or 0

    def image_settings(self, image_id: str, requester: str) -> tuple[Image, dict[str, Any]]:
        """One of the requester's images and the settings of its job; NotFound otherwise."""
        with session_scope(self.factory) as session:
            image = session.get(Image, image_id) if is_uuid(image_id) else None
            if image is None or image.requester != requester:
                raise NotFound(f"No image with id {image_id}.")
            return image, dict(session.get(Job, image.job_id).params or {})
