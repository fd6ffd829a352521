"""With Celery: the assigned version crosses the broker in the payload, and a GPU worker runs
the canary check when it ends a job."""

from __future__ import annotations

import json

import pytest

from generation.errors import ModelLoadError
from tests.webapp.test_experiments import BASE, TUNED, job_row
from webapp.experiments import get_experiments
from webapp.generation_service import get_generation_service
from webapp.jobs.celery_worker import GenerationWorker

pytestmark = pytest.mark.app_config(SAFECANVAS_QUEUE="celery", SAFECANVAS_BATCH_WAIT_MS=0)


def test_a_canary_version_travels_to_the_worker_which_rolls_it_back(
    fake_app, fake_generator, two_versions, monkeypatch
):
    sent: list[dict] = []  # what the broker would carry, as JSON
    service = get_generation_service(fake_app)
    monkeypatch.setattr(
        service.queue,
        "put",
        lambda item: sent.append(json.loads(json.dumps(item.payload().to_json()))),
    )
    generate = fake_generator.generate_batch

    def tuned_fails(reqs, **kw):
        """The tuned version cannot load on the worker; the base runs."""
        if reqs[0].version == TUNED:
            raise ModelLoadError(f"version {TUNED!r}: weight file changed or corrupt")
        return generate(reqs, **kw)

    monkeypatch.setattr(fake_generator, "generate_batch", tuned_fails)
    body = {
        "weights": {BASE: 50, TUNED: 50},
        "kind": "canary",
        "min_sample": 3,
        "error_margin": 0.2,
    }
    with fake_app.app_context():
        exp = get_experiments(fake_app).start(body, "test")
    with fake_app.test_request_context():
        jobs = [service.submit({"prompt": "a square"}, f"key:{n}", "api") for n in range(16)]
    assert [p["request"]["version"] for p in sent] == [
        job_row(fake_app, j.id).experiment_arm for j in jobs
    ]
    assert {p["request"]["version"] for p in sent} == {BASE, TUNED}

    worker = GenerationWorker(fake_app)
    worker.batcher.start(worker.runner)
    try:
        for payload in sent:
            worker._task()(payload)
    finally:
        worker.batcher.stop()
    rows = [job_row(fake_app, j.id) for j in jobs]
    assert {(r.experiment_arm, r.status) for r in rows} == {(BASE, "succeeded"), (TUNED, "failed")}
    state = get_experiments(fake_app).store.get(exp["id"])
    tuned = next(a for a in state["arms"] if a["version"] == TUNED)
    assert (tuned["state"], tuned["weight"]) == ("rolled_back", 0)
