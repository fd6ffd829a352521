"""The one writer of job state: create, start, progress, finish, fail unfinished, recover.

Both queue backends (and the web tier) change jobs only through ``JobStore``, and every
transition to a final state goes through ``_finish_where``: a final state is never
overwritten, whoever tries (a worker finishing late, a cancel from another web process, a
recovery sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from webapp.db import session_scope
from webapp.experiments.canary import check_jobs
from webapp.jobs.base import FINAL_STATES
from webapp.jobs.recovery import INTERRUPTED, is_orphaned
from webapp.metrics import count_job
from webapp.models import Image, Job, utcnow

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")
MAX_ATTEMPTS = 2  # a job whose worker died runs once more, then fails as worker_lost
WORKER_LOST = "The worker running this job stopped twice; please submit it again."
TIMED_OUT = "The job did not finish in time."


def _as_aware(value: datetime) -> datetime:
    """SQLite returns naive UTC datetimes."""
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


class JobStore:
    """Job rows of one database; every method is one short transaction."""

    def __init__(self, factory: sessionmaker) -> None:
        """Use the app's session factory."""
        self.factory = factory

    def create(self, job: Job) -> Job:
        """Insert a new job (status 'queued')."""
        with session_scope(self.factory) as session:
            session.add(job)
        return job

    def start(self, job_id: str, worker: str) -> bool:
        """Mark a job running on ``worker``; False when it must not run.

        A job still 'running' is a redelivery after its worker died: it starts again once
        (``MAX_ATTEMPTS``), and after that it fails as ``worker_lost``. A job in a final
        state (cancelled meanwhile, say) is not started.
        """
        with session_scope(self.factory) as session:
            started = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(
                        Job.status == "queued",
                        (Job.status == "running") & (Job.attempts < MAX_ATTEMPTS),
                    ),
                )
                .values(
                    status="running",
                    started_at=utcnow(),
                    progress=0.0,
                    worker=worker,
                    attempts=Job.attempts + 1,
                )
            )
        if started.rowcount == 1:
            return True
        self.finish(job_id, "failed", code="worker_lost", message=WORKER_LOST)
        return False

    def progress(self, job_ids: Iterable[str], value: float) -> set[str]:
        """Record progress of running jobs; returns the ids still running."""
        ids = list(job_ids)
        with session_scope(self.factory) as session:
            session.execute(
                update(Job).where(Job.id.in_(ids), Job.status == "running").values(progress=value)
            )
        return self.running(ids)

    def running(self, job_ids: Iterable[str]) -> set[str]:
        """Which of these jobs are still running (the others were ended elsewhere)."""
        with session_scope(self.factory) as session:
            rows = session.scalars(
                select(Job.id).where(Job.id.in_(list(job_ids)), Job.status == "running")
            )
            return set(rows)

    def unfinished(self, job_ids: Iterable[str]) -> set[str]:
        """Which of these jobs are still queued or running."""
        with session_scope(self.factory) as session:
            rows = session.scalars(
                select(Job.id).where(Job.id.in_(list(job_ids)), Job.status.in_(UNFINISHED))
            )
            return set(rows)

    def status(self, job_id: str) -> str | None:
        """A job's status (None: no such job)."""
        with session_scope(self.factory) as session:
            return session.scalar(select(Job.status).where(Job.id == job_id))

    def finish(
        self, job_id: str, status: str, code: str | None = None, message: str | None = None, **kw
    ) -> bool:
        """Give an unfinished job its final state; False when it already had one."""
        values = {"error_code": code, "error_message": message, **kw}
        done = self._finish_where(status, values, Job.id == job_id) == 1
        if done:
            self._ended(job_id)
        return done

    def succeed(self, job_id: str, version: str, moderator: str, images: list[Image]) -> bool:
        """End a running job 'succeeded' and add its image rows, in one transaction."""
        with session_scope(self.factory) as session:
            done = self._finish_in(
                session,
                "succeeded",
                {"progress": 1.0, "model_version": version, "moderator_version": moderator},
                Job.id == job_id,
                Job.status == "running",
            )
            if done == 1:
                session.add_all(images)
        if done == 1:
            self._ended(job_id)
        return done == 1

    def _ended(self, job_id: str) -> None:
        """A job reached its final state: if it belongs to a canary, check the canary now.

        On completion rather than on a timer, in whichever process ended the job (web or GPU
        worker); a failing check is logged and never fails the job.
        """
        try:
            check_jobs(self.factory, [job_id])
        except Exception:
            log.exception("the canary check after job %s failed", job_id)

    def fail_unfinished(self, worker: str, code: str, message: str) -> int:
        """Fail every unfinished job a process holds (it is shutting down)."""
        values = {"error_code": code, "error_message": message}
        return self._finish_where("failed", values, Job.worker == worker)

    def recover(self, me: str, timeout_s: int, orphans: bool = True) -> int:
        """Fail unfinished jobs whose process died (``orphans``) or that outlived the timeout.

        The in-process backend owns its jobs, so a dead owner means a lost job. With Celery
        the broker redelivers a dead worker's jobs, so only the timeout applies there.
        """
        cutoff = utcnow() - timedelta(seconds=timeout_s * 2)
        with session_scope(self.factory) as session:
            rows = session.execute(
                select(Job.id, Job.worker, Job.created_at).where(Job.status.in_(UNFINISHED))
            ).all()
        count = 0
        for job_id, worker, created in rows:
            if orphans and is_orphaned(worker, me):
                count += self.finish(job_id, "failed", code="interrupted", message=INTERRUPTED)
            elif _as_aware(created) < cutoff:
                count += self.finish(job_id, "failed", code="timeout", message=TIMED_OUT)
        if count:
            log.warning("marked %d unfinished job(s) failed after a restart or timeout", count)
        return count

    def _finish_where(self, status: str, values: dict[str, Any], *where) -> int:
        """Final state for the unfinished jobs matching ``where``; how many changed."""
        with session_scope(self.factory) as session:
            return self._finish_in(session, status, values, *where)

    @staticmethod
    def _finish_in(session, status: str, values: dict[str, Any], *where) -> int:
        """The only statement that writes a final state: never over another final state."""
        assert status in FINAL_STATES, status
        # RETURNING (SQLite 3.35+, PostgreSQL): the versions of exactly the rows this changed.
        versions = session.execute(
            update(Job)
            .where(*where, Job.status.in_(UNFINISHED))
            .values(status=status, finished_at=utcnow(), **values)
            .returning(Job.model_version)
        ).scalars()
        changed = 0
        for version in versions:
            count_job(status, version)
            changed += 1
        return changed
