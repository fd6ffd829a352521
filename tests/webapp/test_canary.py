"""Canaries on the real model: a version that fails is rolled back, a good one is not.

The generator is the real canvas-shapes pipeline with the real version registry; only the
moderation chain is the stand-in (it is not what these tests are about).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from generation.types import GenerationRequest
from tests.webapp.api_fakes import FakeModeration
from webapp.db import session_factory, session_scope
from webapp.experiments import get_experiments
from webapp.experiments.assign import bucket, pick
from webapp.experiments.canary import check_jobs
from webapp.generation_service import get_generation_service
from webapp.metrics import REGISTRY
from webapp.models import Job

BASE, GOOD, BROKEN = "canvas-shapes", "canvas-shapes-purple", "purple-broken"
PER_ARM = 10
GUARD = {"min_sample": 8, "error_margin": 0.2, "refusal_margin": 0.2}


@pytest.fixture(scope="module")
def real_generator(tmp_path_factory):
    """canvas-shapes, loaded once, with a registered version whose weight file is corrupt."""
    from generation import Generator

    gen = Generator(model_dir=tmp_path_factory.mktemp("models")).load()
    weights = gen.registry.get(GOOD).path / "pytorch_lora_weights.safetensors"
    broken = gen.registry.add_adapter(weights, BROKEN, parent=BASE)
    damaged = broken.path / "pytorch_lora_weights.safetensors"
    data = bytearray(damaged.read_bytes())
    data[-64:] = bytes(64)  # registered intact, damaged on disk afterwards
    damaged.write_bytes(bytes(data))
    # Load the good adapter once, as a serving worker would have: its first use pays the load.
    gen.generate(GenerationRequest("a red square", steps=1, seed=0, version=GOOD))
    return gen


@pytest.fixture
def real_app(tmp_path, monkeypatch, real_generator):
    """The app on the real generator, one torch thread, room for a burst of jobs."""
    from webapp import create_app
    from webapp.config import test_config
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    cfg = test_config(str(tmp_path), SAFECANVAS_TORCH_THREADS=1, SAFECANVAS_QUEUE_MAX=100)
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    app = create_app(cfg, LoadedModels(real_generator, FakeModeration()))
    yield app
    get_generation_service(app).queue.stop(0)


def requesters_per_arm(exp_id: int, arms: tuple[tuple[str, int], ...]) -> list[str]:
    """``PER_ARM`` requester ids for every arm, found by the same hash the service uses."""
    chosen: dict[str, list[str]] = {version: [] for version, _ in arms}
    n = 0
    while any(len(ids) < PER_ARM for ids in chosen.values()):
        requester = f"key:{n}"
        ids = chosen[pick(arms, bucket(exp_id, requester))]
        if len(ids) < PER_ARM:
            ids.append(requester)
        n += 1
    return [r for ids in chosen.values() for r in ids]


def run_requests(app, requesters: list[str]) -> list[Job]:
    """One one-step request per requester through the real service; wait for every job."""
    service = get_generation_service(app)
    with app.test_request_context():
        jobs = [
            service.submit({"prompt": "a blue circle", "steps": 1, "seed": i}, r, "api")
            for i, r in enumerate(requesters)
        ]
    for job in jobs:
        service.wait(job.id, 60)
    with session_scope(session_factory(app)) as session:
        return list(session.scalars(select(Job).where(Job.id.in_([j.id for j in jobs]))))


def start_canary(app, candidate: str, **guard) -> dict:
    """A 50/50 canary against canvas-shapes (a large share, so the sample fills fast)."""
    body = {"weights": {BASE: 50, candidate: 50}, "kind": "canary", **GUARD, **guard}
    with app.app_context():
        return get_experiments(app).start(body, "test")


def admin_page(app, path: str) -> str:
    """A page as a logged-in admin sees it."""
    password = "plum-orbit-cactus-41"
    result = app.test_cli_runner().invoke(args=["create-admin", "alice", "--password", password])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    client.post("/admin/login", data={"username": "alice", "password": password})
    return client.get(path).get_data(as_text=True)


def rollbacks(version: str) -> float:
    """The rollback counter of a version on /metrics."""
    value = REGISTRY.get_sample_value("safecanvas_canary_rollbacks_total", {"version": version})
    return value or 0.0


def test_a_canary_that_fails_is_rolled_back_and_stays_off(real_app, caplog):
    exp = start_canary(real_app, BROKEN)
    arms = ((BASE, 50), (BROKEN, 50))
    before = rollbacks(BROKEN)
    with caplog.at_level(logging.WARNING, logger="webapp.experiments.canary"):
        rows = run_requests(real_app, requesters_per_arm(exp["id"], arms))
    statuses = {(r.experiment_arm, r.status) for r in rows}
    assert (BROKEN, "failed") in statuses and (BASE, "succeeded") in statuses

    state = get_experiments(real_app).store.get(exp["id"])
    arm = next(a for a in state["arms"] if a["version"] == BROKEN)
    assert (arm["state"], arm["weight"]) == ("rolled_back", 0)
    [event] = [e for e in state["events"] if e["kind"] == "rollback"]
    assert event["actor"] == "canary check" and event["version"] == BROKEN
    assert event["details"]["canary"]["error_rate"] == 1.0
    assert event["details"]["control"]["error_rate"] == 0.0
    assert event["details"]["canary"]["jobs"] >= GUARD["min_sample"]
    assert any("error rate" in reason for reason in event["details"]["reasons"])
    assert rollbacks(BROKEN) == before + 1
    assert any("canary rollback" in r.message and BROKEN in r.message for r in caplog.records)
    page = admin_page(real_app, f"/admin/experiments/{exp['id']}")
    assert f"<code>{BROKEN}</code> rolled back" in page and "by canary check" in page
    assert "error rate 100.0% vs 0.0% (margin 20.0%)" in page
    assert "errors: +100.0 pts, p &lt; 0.001: <strong>significant</strong>" in page

    # No flapping: its requesters now get the control, and late checks change nothing.
    later = run_requests(real_app, requesters_per_arm(exp["id"], arms)[-4:])
    assert {r.model_version for r in later} == {BASE}
    with real_app.app_context():
        check_jobs(session_factory(real_app), [r.id for r in rows])
    events = get_experiments(real_app).store.get(exp["id"])["events"]
    assert [e["kind"] for e in events].count("rollback") == 1
    assert rollbacks(BROKEN) == before + 1


def test_an_admin_bringing_a_canary_back_starts_its_count_afresh(real_app):
    exp = start_canary(real_app, BROKEN)
    run_requests(real_app, requesters_per_arm(exp["id"], ((BASE, 50), (BROKEN, 50))))
    experiments = get_experiments(real_app)
    with real_app.app_context():
        state = experiments.set_weights(exp["id"], {BROKEN: 50}, "alice")
    arm = next(a for a in state["arms"] if a["version"] == BROKEN)
    assert (arm["state"], arm["weight"], arm["last_check"]) == ("on", 50, None)
    # the failures that rolled it back are before its new start: one more job does not
    rows = run_requests(real_app, requesters_per_arm(exp["id"], ((BASE, 50), (BROKEN, 50)))[-1:])
    assert rows[0].status == "failed"
    arm = next(a for a in experiments.store.get(exp["id"])["arms"] if a["version"] == BROKEN)
    assert arm["state"] == "on" and arm["last_check"]["verdict"] == "collecting"


def test_a_good_canary_is_not_rolled_back(real_app):
    # Latency is not what this test is about: identical runs on a shared CI CPU differ by
    # more than 2x, so its margin is wide here (tests/webapp/test_canary_rule.py covers it).
    exp = start_canary(real_app, GOOD, latency_margin=5.0)
    before = rollbacks(GOOD)
    rows = run_requests(real_app, requesters_per_arm(exp["id"], ((BASE, 50), (GOOD, 50))))
    assert {r.status for r in rows} == {"succeeded"}
    assert {r.model_version for r in rows} == {BASE, GOOD}
    state = get_experiments(real_app).store.get(exp["id"])
    arm = next(a for a in state["arms"] if a["version"] == GOOD)
    assert (arm["state"], arm["weight"]) == ("on", 50)
    check = arm["last_check"]
    assert check["verdict"] == "healthy" and check["canary"]["jobs"] >= GUARD["min_sample"]
    assert check["canary"]["p95_s"] is not None and check["control"]["p95_s"] is not None
    assert "rollback" not in [e["kind"] for e in state["events"]]
    assert rollbacks(GOOD) == before
