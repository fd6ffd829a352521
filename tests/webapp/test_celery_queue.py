"""The Celery backend as the web tier uses it, on the real Redis and RabbitMQ brokers."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest

from generation.types import GenerationRequest
from safety.verdict import Safeguards
from tests.e2e.cluster import delete_queue, require_broker
from webapp.config import test_config
from webapp.jobs import QueueFull, WorkItem
from webapp.jobs.base import JobPayload
from webapp.jobs.celery_app import make_celery
from webapp.jobs.celery_queue import CeleryQueue


def _item() -> WorkItem:
    request = GenerationRequest("two red circles", steps=3, seed=7)
    return WorkItem(str(uuid.uuid4()), request, "key:1", "api", ("v", 3), time.monotonic() + 60)


def test_a_payload_survives_json_and_keeps_its_deadline():
    item = _item()
    payload = JobPayload.from_json(json.loads(json.dumps(item.payload().to_json())))
    assert payload == item.payload() or payload.request == item.request
    again = WorkItem.from_payload(payload, ("v", 3))
    assert again.request == item.request and abs(again.deadline - item.deadline) < 0.5
    with pytest.raises(TypeError):  # a field this release does not know is refused, not lost
        JobPayload.from_json({**payload.to_json(), "surprise": 1})


def test_a_guarded_jobs_safeguards_survive_json():
    item = _item()
    item.safeguards = Safeguards("nudity, nsfw", 0.2)
    payload = JobPayload.from_json(json.loads(json.dumps(item.payload().to_json())))
    assert payload.safeguards == Safeguards("nudity, nsfw", 0.2)
    assert WorkItem.from_payload(payload, ("v", 3)).safeguards == item.safeguards
    allowed = _item().payload().to_json()
    assert "safeguards" not in allowed  # an older worker still runs the allowed jobs
    assert JobPayload.from_json(allowed).safeguards is None
    with pytest.raises(TypeError):  # safeguards this release cannot read fail the job
        JobPayload.from_json({**payload.to_json(), "safeguards": {"negative": "x"}})


@pytest.fixture(params=["redis", "rabbitmq"])
def celery_queue(request, tmp_path):
    """A CeleryQueue on a private queue of the local broker, removed afterwards."""
    url = require_broker(request.param)
    name = f"safecanvas.test.{uuid.uuid4().hex[:8]}"
    cfg = test_config(
        str(tmp_path),
        SAFECANVAS_QUEUE="celery",
        SAFECANVAS_BROKER_URL=url,
        SAFECANVAS_BROKER_QUEUE=name,
    )
    queue = CeleryQueue(make_celery(cfg), jobs=None, max_size=2)
    yield request.param, queue
    delete_queue(url, name)


def test_jobs_wait_in_the_broker_up_to_the_maximum(celery_queue):
    broker, queue = celery_queue
    assert queue.depth() == 0
    queue.put(_item())
    queue.put(_item())
    assert queue.depth() == 2  # shared by every web process: counted at the broker
    with pytest.raises(QueueFull):
        queue.put(_item())
    ready, components = queue.readiness()
    assert ready and components == {f"broker.{broker}": "ready", "workers": "none consuming"}


def test_an_unreachable_broker_makes_the_web_tier_not_ready(tmp_path):
    cfg = test_config(
        str(tmp_path),
        SAFECANVAS_QUEUE="celery",
        SAFECANVAS_BROKER_URL="redis://127.0.0.1:1/0",
    )
    celery = make_celery(cfg)
    celery.conf.broker_transport_options = {"max_retries": 0}
    celery.conf.broker_connection_max_retries = 0
    ready, components = CeleryQueue(celery, jobs=None, max_size=2).readiness()
    assert not ready and components["broker.redis"].startswith("error:")


def test_waiting_threads_share_one_poller_and_wake_when_their_job_ends(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import sessionmaker

    from webapp.db import make_engine
    from webapp.jobs.store import JobStore
    from webapp.migrate import upgrade
    from webapp.models import Job

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    jobs = JobStore(sessionmaker(make_engine(url), expire_on_commit=False))
    ids = [str(uuid.uuid4()) for _ in range(4)]
    for job_id in ids:
        jobs.create(Job(id=job_id, requester="k", source="api", status="queued", params={}))
    cfg = test_config(str(tmp_path), SAFECANVAS_QUEUE="celery")
    queue = CeleryQueue(make_celery(cfg), jobs=jobs, max_size=2)  # no broker needed to wait
    with ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(queue.wait, job_id, 10.0) for job_id in ids[:3]]
        time.sleep(0.2)
        assert queue._poller is not None and len(queue._waiting) == 3
        for job_id in ids[:3]:
            jobs.finish(job_id, "cancelled")
        assert [w.result(timeout=5) for w in waits] == [True, True, True]
    assert queue.wait(ids[3], 0.1) is False  # still queued: the timeout answers
    time.sleep(0.1)
    assert queue._waiting == {} and queue._poller is None


def test_a_request_id_survives_json_and_is_left_out_when_there_is_none():
    item = _item()
    assert "request_id" not in item.payload().to_json()  # jobs made outside a request
    item.request_id = "client-7f3a"
    payload = JobPayload.from_json(json.loads(json.dumps(item.payload().to_json())))
    assert payload.request_id == "client-7f3a"
    assert WorkItem.from_payload(payload, ("v", 3)).request_id == "client-7f3a"


@pytest.fixture
def celery_web_and_worker(tmp_path, monkeypatch, fake_generator, fake_moderation):
    """A Celery-mode app on a private queue of the real Redis broker, and its GenerationWorker.

    Redis only: the payload is the same JSON on RabbitMQ, and an embedded worker takes ten
    seconds there to shut down (tests/e2e/test_scaleout.py runs both brokers).
    """
    from webapp import create_app
    from webapp.jobs.celery_worker import GenerationWorker
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    url = require_broker("redis")
    name = f"safecanvas.test.{uuid.uuid4().hex[:8]}"
    cfg = test_config(
        str(tmp_path),
        SAFECANVAS_QUEUE="celery",
        SAFECANVAS_BROKER_URL=url,
        SAFECANVAS_BROKER_QUEUE=name,
    )
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    app = create_app(cfg, LoadedModels(fake_generator, fake_moderation))
    root_level = logging.getLogger().level  # the embedded Celery worker sets the root's
    yield app, GenerationWorker(app)
    logging.getLogger().setLevel(root_level)
    delete_queue(url, name)


def test_a_request_id_crosses_the_broker_into_the_workers_log_lines(celery_web_and_worker, caplog):
    from celery.contrib.testing.worker import start_worker

    from tests.webapp.helpers import bearer
    from webapp.auth import create_api_key
    from webapp.db import session_factory, session_scope
    from webapp.models import Job

    app, worker = celery_web_and_worker
    with app.app_context(), session_scope(session_factory(app)) as session:
        _row, key = create_api_key(session, "tester")
    auth = bearer(key) | {"X-Request-ID": "trace-celery-1"}
    queued = app.test_client().post("/api/v1/jobs", json={"prompt": "a square"}, headers=auth)
    assert queued.status_code == 202 and queued.headers["X-Request-ID"] == "trace-celery-1"
    job_id = queued.get_json()["id"]
    caplog.clear()  # from here on: only what the worker logs
    worker.batcher.start(worker.runner)
    try:
        with start_worker(worker.celery, perform_ping_check=False, shutdown_timeout=10):
            deadline = time.monotonic() + 20
            while worker.jobs.status(job_id) not in {"succeeded", "failed"}:
                assert time.monotonic() < deadline, "the worker did not run the job"
                time.sleep(0.05)
    finally:
        worker.batcher.stop()
    with session_scope(session_factory(app)) as session:
        row = session.get(Job, job_id)
        assert (row.status, row.request_id) == ("succeeded", "trace-celery-1")
    about_job = [r for r in caplog.records if getattr(r, "job_id", None) == job_id]
    threads = {r.threadName for r in about_job}
    assert {"generation-worker"} < threads  # the batcher's thread and Celery's
    messages = [r.getMessage() for r in about_job]
    assert f"job {job_id} taken from the broker" in messages
    assert any(m.startswith(f"job {job_id} succeeded") for m in messages)
    assert {getattr(r, "request_id", None) for r in about_job} == {"trace-celery-1"}
