"""The Celery backend as the web tier uses it, on the real Redis and RabbitMQ brokers."""

from __future__ import annotations

import json
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
