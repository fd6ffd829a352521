"""The in-process queue (bounds, micro-batching, cancel) and recovery after a crash."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid

import psutil
import pytest

from tests.webapp.helpers import bearer, wait_final
from webapp.db import session_factory, session_scope
from webapp.generation_service import get_generation_service
from webapp.jobs import InProcessQueue, QueueFull, WorkItem
from webapp.jobs.recovery import is_orphaned, process_identity
from webapp.jobs.store import JobStore
from webapp.models import Job


def _item(key="a") -> WorkItem:
    return WorkItem(str(uuid.uuid4()), None, "key:1", "api", key, time.monotonic() + 60)


def test_compatible_items_run_as_one_batch_up_to_the_maximum():
    queue = InProcessQueue(max_size=10, batch_max=3, batch_wait_s=0.0)
    batches, done = [], threading.Event()
    items = [_item("a"), _item("b"), _item("a"), _item("a"), _item("a")]
    for item in items:
        queue.put(item)

    def runner(batch):
        batches.append([i.batch_key for i in batch])
        if sum(map(len, batches)) == len(items):
            done.set()

    queue.start(runner)
    assert done.wait(5)
    queue.stop()
    assert batches == [["a", "a", "a"], ["b"], ["a"]]


def test_a_lone_item_starts_at_once_and_a_burst_waits_for_late_arrivals():
    # A window far longer than the sleeps below: a loaded machine may oversleep them.
    queue = InProcessQueue(max_size=10, batch_max=4, batch_wait_s=1.0)
    batches, done = [], threading.Event()

    def runner(batch):
        batches.append((len(batch), time.monotonic()))
        time.sleep(0.1)  # while the lone item runs, a burst starts
        if sum(n for n, _ in batches) == 3:
            done.set()

    queue.start(runner)
    put_at = time.monotonic()
    queue.put(_item())
    time.sleep(0.05)
    queue.put(_item())  # soon after another: a burst, so it waits for late arrivals
    time.sleep(0.1)
    queue.put(_item())
    assert done.wait(5)
    queue.stop()
    assert [n for n, _ in batches] == [1, 2]
    assert batches[0][1] - put_at < 0.5  # the first did not wait out the window


def test_clients_of_a_shared_batch_are_batched_again():
    # A window far longer than the sleeps below: a loaded machine may oversleep them.
    queue = InProcessQueue(max_size=10, batch_max=4, batch_wait_s=1.0)
    batches, first_done = [], threading.Event()

    def runner(batch):
        batches.append(len(batch))
        time.sleep(0.2)  # the batch runs: by its end the last put is older than the window
        first_done.set()

    queue.put(_item())
    queue.put(_item())
    queue.start(runner)  # after both puts: a worker already waiting may take the first alone
    assert first_done.wait(5)
    # Served clients send their next requests a moment apart, right after their batch:
    # without the rule each would look alone and run in a batch of one.
    time.sleep(0.05)
    queue.put(_item())
    time.sleep(0.05)
    queue.put(_item())
    deadline = time.monotonic() + 5
    while sum(batches) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.stop()
    assert batches == [2, 2]


def test_a_full_queue_refuses_and_a_queued_item_can_be_cancelled():
    queue = InProcessQueue(max_size=2, batch_max=1, batch_wait_s=0.0)
    first, second = _item(), _item()
    queue.put(first)
    queue.put(second)
    with pytest.raises(QueueFull) as info:
        queue.put(_item())
    assert info.value.retry_after > 0
    assert queue.cancel(first.job_id) == "dequeued" and first.done.is_set()
    assert queue.depth() == 1 and queue.cancel("nope") == "unknown"


@pytest.mark.app_config(SAFECANVAS_BATCH_MAX=2, SAFECANVAS_BATCH_WAIT_MS=1000)
def test_compatible_api_requests_share_a_pipeline_batch(client, api_key, fake_generator):
    key = api_key
    ids = [
        client.post("/api/v1/jobs", json={"prompt": f"shape {i}"}, headers=bearer(key)).get_json()[
            "id"
        ]
        for i in range(3)
    ]
    assert all(wait_final(client, i, key)["status"] == "succeeded" for i in ids)
    assert fake_generator.batches == [1, 2]  # the first ran at once; the next two arrived together


def test_identity_tells_live_from_dead_processes():
    me = process_identity()
    assert not is_orphaned(me, me)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    dead = process_identity(child.pid)
    assert not is_orphaned(dead, me)
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # exited, not reaped
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert is_orphaned(dead, me)
    child.wait()
    assert is_orphaned(dead, me) and is_orphaned(None, me)
    assert not is_orphaned("another-host:1:1", me)


def test_jobs_of_a_dead_process_fail_on_the_first_request(fake_app, make_key):
    factory = session_factory(fake_app)
    ghost = f"{socket.gethostname()}:1:1"  # pid 1 lives, but did not start at t=1
    jobs = {"queued": ghost, "running": ghost, "elsewhere": "another-host:1:1"}
    ids = {name: str(uuid.uuid4()) for name in jobs}
    with session_scope(factory) as session:
        for name, worker in jobs.items():
            status = "queued" if name == "queued" else "running"
            row = Job(id=ids[name], requester="key:1", source="api", status=status)
            row.progress, row.params, row.worker = 0.5, {}, worker
            session.add(row)
    client, key = fake_app.test_client(), make_key()  # the first request comes after the crash
    for name in ("queued", "running"):
        view = client.get(f"/api/v1/jobs/{ids[name]}", headers=bearer(key)).get_json()
        assert view["status"] == "failed" and view["error"]["code"] == "interrupted"
    view = client.get(f"/api/v1/jobs/{ids['elsewhere']}", headers=bearer(key)).get_json()
    assert view["status"] == "running"
    assert JobStore(factory).recover(process_identity(), timeout_s=0) == 1  # past its timeout


def test_graceful_shutdown_fails_what_it_cannot_finish(fake_app, client, api_key, fake_generator):
    key, gen = api_key, fake_generator
    gen.step_s = 0.05
    ids = [  # different steps: never one batch
        client.post(
            "/api/v1/jobs", json={"prompt": "x", "steps": s}, headers=bearer(key)
        ).get_json()["id"]
        for s in (10, 11)
    ]
    assert gen.started.wait(5)
    get_generation_service(fake_app).shutdown(wait_s=5)
    views = [client.get(f"/api/v1/jobs/{i}", headers=bearer(key)).get_json() for i in ids]
    assert views[0]["status"] == "succeeded"  # the running batch was let finish
    assert views[1]["status"] == "failed" and views[1]["error"]["code"] == "interrupted"


def test_a_job_ended_by_another_process_is_not_run(fake_app, client, api_key, fake_generator):
    key, gen = api_key, fake_generator
    gen.step_s = 0.05
    ids = [  # different steps: never one batch
        client.post(
            "/api/v1/jobs", json={"prompt": "x", "steps": s}, headers=bearer(key)
        ).get_json()["id"]
        for s in (6, 7)
    ]
    with session_scope(session_factory(fake_app)) as session:  # as a sibling worker's would
        session.get(Job, ids[1]).status = "cancelled"
    assert wait_final(client, ids[0], key)["status"] == "succeeded"
    time.sleep(0.3)
    view = client.get(f"/api/v1/jobs/{ids[1]}", headers=bearer(key)).get_json()
    assert view["status"] == "cancelled" and view["images"] == []
    assert gen.batches == [1]


def test_a_running_job_cancelled_by_another_process_stops_at_its_next_step(
    fake_app, client, api_key, fake_generator
):
    key, gen = api_key, fake_generator
    gen.step_s = 0.2
    slow = client.post(
        "/api/v1/jobs", json={"prompt": "x", "steps": 50}, headers=bearer(key)
    ).get_json()["id"]  # 10 s if nobody stops it: far above the bound below, on any machine
    assert gen.started.wait(5)
    cancelled_at = time.monotonic()
    # What a cancel on a sibling web process writes: its queue never held this job.
    assert JobStore(session_factory(fake_app)).finish(slow, "cancelled", code="cancelled")
    quick = client.post(
        "/api/v1/jobs", json={"prompt": "x", "steps": 1}, headers=bearer(key)
    ).get_json()["id"]
    assert wait_final(client, quick, key)["status"] == "succeeded"
    assert time.monotonic() - cancelled_at < 5  # the GPU was freed, not held for 10 s
    assert wait_final(client, slow, key)["status"] == "cancelled"
