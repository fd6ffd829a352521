"""The GPU worker's job handling, without a broker: payload in, final job state out."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import pytest

from generation.types import GenerationRequest
from safety.verdict import Safeguards
from webapp.db import session_factory
from webapp.jobs.base import JobPayload
from webapp.jobs.celery_worker import GenerationWorker
from webapp.jobs.store import JobStore
from webapp.models import Job

pytestmark = pytest.mark.app_config(SAFECANVAS_QUEUE="celery", SAFECANVAS_BATCH_WAIT_MS=200)


def _queued(app, prompt: str = "a shape") -> JobPayload:
    """A job row as the web tier writes it, and the (validated) payload it sends."""
    job_id = str(uuid.uuid4())
    JobStore(session_factory(app)).create(
        Job(id=job_id, requester="key:1", source="api", status="queued", params={})
    )
    models = app.extensions["safecanvas.loaded_models"]
    request = models.generator.validate(GenerationRequest(prompt, steps=3, seed=1))
    return JobPayload(job_id, request, "key:1", "api", deadline_at=time.time() + 60)


def _row(app, job_id: str) -> Job:
    from webapp.db import session_scope

    with session_scope(session_factory(app)) as session:
        return session.get(Job, job_id)


def test_the_web_tier_in_celery_mode_queues_but_never_generates(fake_app):
    from webapp.generation_service import get_generation_service

    service = get_generation_service(fake_app)
    assert not service.queue.local
    assert not fake_app.extensions["safecanvas.loaded_models"].generates_here


def test_a_worker_runs_payloads_and_batches_those_that_wait_together(fake_app, fake_generator):
    worker = GenerationWorker(fake_app)
    worker.batcher.start(worker.runner)
    try:
        payloads = [_queued(fake_app) for _ in range(3)]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(3) as pool:  # as Celery's pool threads would
            list(pool.map(worker.run, payloads))
    finally:
        worker.batcher.stop()
    rows = [_row(fake_app, p.job_id) for p in payloads]
    assert {r.status for r in rows} == {"succeeded"}
    assert {r.worker for r in rows} == {worker.identity} and {r.attempts for r in rows} == {1}
    assert sum(fake_generator.batches) == 3 and len(fake_generator.batches) < 3


def test_a_payload_from_another_release_fails_its_job_instead_of_leaving_it_queued(fake_app):
    worker = GenerationWorker(fake_app)
    payload = _queued(fake_app).to_json()
    worker._task()({**payload, "safeguard": "from the future"})
    row = _row(fake_app, payload["job_id"])
    assert (row.status, row.error_code) == ("failed", "worker_mismatch")


def test_a_guarded_payload_runs_with_its_safeguards(fake_app, fake_generator, fake_moderation):
    worker = GenerationWorker(fake_app)
    worker.batcher.start(worker.runner)
    try:
        payload = replace(_queued(fake_app), safeguards=Safeguards("nudity, nsfw", 0.2))
        worker._task()(json.loads(json.dumps(payload.to_json())))  # as it left the broker
    finally:
        worker.batcher.stop()
    assert _row(fake_app, payload.job_id).status == "succeeded"
    assert fake_generator.requests[-1].negative_prompt == "nudity, nsfw"
    assert fake_moderation.thresholds == [0.2]
