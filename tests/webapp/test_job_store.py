"""The job store: the one writer of job state, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import sessionmaker

from webapp.db import make_engine, session_scope
from webapp.jobs.store import MAX_ATTEMPTS, JobStore
from webapp.migrate import upgrade
from webapp.models import Image, Job


@pytest.fixture
def jobs(database_url):
    """A store on a migrated database."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield JobStore(sessionmaker(engine, expire_on_commit=False))
    engine.dispose()


def _new(jobs: JobStore, worker: str | None = None) -> str:
    job_id = str(uuid.uuid4())
    jobs.create(
        Job(id=job_id, requester="key:1", source="api", status="queued", params={}, worker=worker)
    )
    return job_id


def _row(jobs: JobStore, job_id: str) -> Job:
    with session_scope(jobs.factory) as session:
        return session.get(Job, job_id)


def test_a_final_state_is_never_overwritten(jobs):
    job_id = _new(jobs)
    assert jobs.start(job_id, "w1")
    assert jobs.finish(job_id, "cancelled", code="cancelled", message="The job was cancelled.")
    # A worker that finishes late, a second cancel, a recovery sweep: none changes it.
    assert not jobs.succeed(job_id, "v1", "m1", [])
    assert not jobs.finish(job_id, "failed", code="timeout")
    assert jobs.fail_unfinished("w1", "interrupted", "gone") == 0
    assert jobs.recover("me", timeout_s=0) == 0
    assert not jobs.start(job_id, "w2")
    row = _row(jobs, job_id)
    assert (row.status, row.error_code, row.worker) == ("cancelled", "cancelled", "w1")


def test_success_stores_images_and_progress_only_moves_running_jobs(jobs):
    job_id, other = _new(jobs), _new(jobs)
    assert jobs.start(job_id, "w1")
    assert jobs.progress([job_id, other], 0.5) == {job_id}
    assert _row(jobs, job_id).progress == 0.5 and _row(jobs, other).progress == 0.0
    image = Image(
        id=str(uuid.uuid4()),
        job_id=job_id,
        requester="key:1",
        position=0,
        seed=2**32 - 1,
        path="db:x",
        prompt="p",
        model_version="v1",
        moderator_version="m1",
    )
    assert jobs.succeed(job_id, "v1", "m1", [image])
    row = _row(jobs, job_id)
    assert (row.status, row.progress, row.model_version) == ("succeeded", 1.0, "v1")
    with session_scope(jobs.factory) as session:
        assert session.get(Image, image.id).seed == 2**32 - 1


def test_a_redelivered_job_runs_once_more_then_fails_as_worker_lost(jobs):
    job_id = _new(jobs)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert jobs.start(job_id, f"w{attempt}")  # the previous worker died mid-job
        assert _row(jobs, job_id).attempts == attempt
    assert not jobs.start(job_id, "w3")
    row = _row(jobs, job_id)
    assert (row.status, row.error_code, row.worker) == ("failed", "worker_lost", "w2")


def test_recovery_of_a_queue_the_broker_owns_only_applies_the_timeout(jobs):
    queued = _new(jobs)  # no worker yet: it waits in the broker
    assert jobs.recover("web:1:1", timeout_s=600, orphans=False) == 0
    assert _row(jobs, queued).status == "queued"
    assert jobs.recover("web:1:1", timeout_s=600) == 1  # in-process: nobody holds it any more
    assert _row(jobs, queued).error_code == "interrupted"
