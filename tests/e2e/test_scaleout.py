"""Scale-out on Celery against the real local Redis and RabbitMQ brokers.

Per broker: two worker processes with the embedded model on the CPU, two web servers (one
in another working directory) on one PostgreSQL database. Jobs are shared and batched; a
cancel, progress events, images and a guarded job's safeguards cross processes; a worker
killed with -9 loses no job for good; a web server killed with -9 loses no queued job.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from safety.verdict import Safeguards, Verdict
from tests.e2e.cluster import Worker, delete_queue, fresh_postgres, metric_value, require_broker
from tests.e2e.conftest import BIN, ROOT, Server, server_env

FINAL = {"succeeded", "refused", "failed", "cancelled"}
PROMPT = "two red circles on a blue background"
LONG = {"prompt": PROMPT, "n": 16, "steps": 250}  # a minute or more on one CPU thread


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def cluster(request, tmp_path_factory):
    """Broker, database, two workers and two web servers (B in another directory)."""
    url = require_broker(request.param)
    database, drop_database = fresh_postgres()
    instance = tmp_path_factory.mktemp(f"scale-{request.param}")
    queue = f"safecanvas.test.{uuid.uuid4().hex[:8]}"
    env = {
        "SAFECANVAS_QUEUE": "celery",
        "SAFECANVAS_BROKER_URL": url,
        "SAFECANVAS_BROKER_QUEUE": queue,
        # Redis hands a dead worker's jobs out again after this; RabbitMQ does at once.
        "SAFECANVAS_BROKER_VISIBILITY_TIMEOUT_S": "20",
        "SAFECANVAS_DATABASE_URL": database,
        "SAFECANVAS_IMAGE_STORE": "directory",
        "SAFECANVAS_TORCH_THREADS": "1",
        "SAFECANVAS_BATCH_MAX": "4",
        "SAFECANVAS_BATCH_WAIT_MS": "300",
    }
    cli_env = server_env(instance, SAFECANVAS_LOAD_MODELS="off", **env)

    def flask(*args: str) -> str:
        out = subprocess.run(
            [str(BIN / "flask"), "--app", "webapp", *args],
            cwd=ROOT,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.strip().splitlines()[-1]

    flask("db", "upgrade")
    state = {
        "broker": request.param,
        "env": env,
        "instance": instance,
        "key": flask("create-api-key", "scale-user"),
        "engine": create_engine(database),
        "workers": [],
        "webs": [],
    }
    elsewhere = instance / "elsewhere"
    elsewhere.mkdir()
    state["workers"] = [Worker(instance, f"w{i}", **env) for i in (1, 2)]
    state["webs"] = [Server(instance, cwd=ROOT, **env), Server(instance, cwd=elsewhere, **env)]
    try:
        with ThreadPoolExecutor(4) as pool:  # start-up is mostly loading models: overlap it
            list(pool.map(lambda proc: proc.start(), state["workers"] + state["webs"]))
        yield state
    finally:
        for proc in state["webs"] + state["workers"]:
            proc.kill()
        state["engine"].dispose()
        drop_database()
        delete_queue(url, queue)


def _auth(cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster['key']}"}


def _submit(cluster, web, body: dict) -> str:
    response = requests.post(web.url("/api/v1/jobs"), json=body, headers=_auth(cluster), timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _view(cluster, web, job_id: str) -> dict:
    return requests.get(
        web.url(f"/api/v1/jobs/{job_id}"), headers=_auth(cluster), timeout=10
    ).json()


def _wait(cluster, web, job_id: str, timeout: float = 120, until=FINAL) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = _view(cluster, web, job_id)
        if view["status"] in until:
            return view
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {view['status']} after {timeout}s")


def _row(cluster, job_id: str) -> dict:
    with cluster["engine"].connect() as conn:
        row = conn.execute(
            text("SELECT status, worker, attempts, error_code FROM jobs WHERE id = :id"),
            {"id": job_id},
        ).one()
    return row._asdict()


def test_workers_share_jobs_batch_them_and_any_web_serves_the_images(cluster):
    web_a, web_b = cluster["webs"]
    ready = requests.get(web_a.url("/readyz"), timeout=10).json()
    assert ready["status"] == "ready"
    assert ready["components"][f"broker.{cluster['broker']}"] == "ready"
    assert "model" not in ready["components"]  # the web tier loads no diffusion model
    deadline = time.monotonic() + 30
    while ready["components"]["workers"] != "2 consuming":
        assert time.monotonic() < deadline, ready
        time.sleep(1)
        ready = requests.get(web_a.url("/readyz"), timeout=10).json()

    ids = [_submit(cluster, web_a, {"prompt": PROMPT, "steps": 30}) for _ in range(8)]
    views = [_wait(cluster, web_a, job_id) for job_id in ids]
    assert {v["status"] for v in views} == {"succeeded"}, views
    assert len({_row(cluster, job_id)["worker"] for job_id in ids}) == 2  # both took jobs

    batches = sum(
        metric_value(w.metrics(), "safecanvas_batch_requests_count") for w in cluster["workers"]
    )
    jobs = sum(
        metric_value(w.metrics(), "safecanvas_batch_requests_sum") for w in cluster["workers"]
    )
    # At least one pipeline batch held several jobs (a slow Redis test run may redeliver one).
    assert jobs >= 8 and batches < jobs

    image = views[-1]["images"][0]["url"]  # written by a worker, served by B (other cwd)
    png = requests.get(web_b.url(image), headers=_auth(cluster), timeout=10)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_from_a_worker_reaches_a_client_of_another_web_server(cluster):
    web_a, web_b = cluster["webs"]
    job_id = _submit(cluster, web_a, {"prompt": PROMPT, "steps": 200})
    events = requests.get(
        web_b.url(f"/api/v1/jobs/{job_id}/events"), headers=_auth(cluster), stream=True, timeout=120
    )
    progress, done = [], None
    kind = None
    for line in events.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            view = json.loads(line.removeprefix("data: "))
            if kind == "done":
                done = view
                break
            progress.append(view["progress"])
    assert done is not None and done["status"] == "succeeded"
    assert any(0 < p < 1 for p in progress), progress  # per-step progress, not just the end


class GuardingModeration:
    """A web tier's prompt check that guards every prompt with ``safeguards``.

    A stand-in: under test is the guard verdict's trip through the broker to a real worker,
    which applies the safeguards with the real model and the real image check.
    """

    version = "guarding-stand-in"

    def __init__(self, safeguards: Safeguards) -> None:
        self.safeguards = safeguards

    def load(self, parts: tuple[str, ...] = ()) -> None:
        pass

    def status(self) -> dict[str, str]:
        return {"blocklist": "ready", "classifier": "ready"}

    def check_prompt(self, prompt: str, negative_prompt: str = "") -> Verdict:
        return Verdict(
            True,
            "classifier",
            ("sexual",),
            reason="borderline",
            moderator_version=self.version,
            action="guard",
            safeguards=self.safeguards,
        )

    def check_image(self, image, threshold: float | None = None) -> Verdict:
        raise AssertionError("with Celery a web tier checks no image")


@pytest.fixture
def guarding_web(cluster, tmp_path):
    """The cluster's web tier in this process, guarding every prompt: submit(body, safeguards)."""
    from webapp import create_app
    from webapp.config import test_config
    from webapp.generation_service import get_generation_service
    from webapp.loaded_models import LoadedModels

    env = cluster["env"]
    names = ("QUEUE", "BROKER_URL", "BROKER_QUEUE", "DATABASE_URL")
    cfg = test_config(str(tmp_path), **{f"SAFECANVAS_{n}": env[f"SAFECANVAS_{n}"] for n in names})
    moderation = GuardingModeration(Safeguards("", 1.0))
    app = create_app(cfg, LoadedModels(LoadedModels.from_config(cfg).generator, moderation))
    service = get_generation_service(app)
    with cluster["engine"].connect() as conn:  # the cluster's key, so its web servers show them
        key_id = conn.execute(text("SELECT id FROM api_keys WHERE name = 'scale-user'")).scalar()

    def submit(body: dict, safeguards: Safeguards) -> str:
        moderation.safeguards = safeguards
        with app.app_context():
            return service.submit(dict(body), f"key:{key_id}", "api").id

    yield submit
    atexit.unregister(service.shutdown)  # it would run after the cluster's database is gone


def _png(cluster, web, view: dict) -> bytes:
    url = web.url(view["images"][0]["url"])
    return requests.get(url, headers=_auth(cluster), timeout=10).content


def test_a_guarded_jobs_safeguards_reach_the_worker_through_the_broker(cluster, guarding_web):
    web_a, _ = cluster["webs"]
    body = {"prompt": PROMPT, "steps": 5, "seed": 5}
    # The safety negative prompt: the worker draws what the request would with it as its own.
    guarded = guarding_web(body, Safeguards("blurry, dark", 1.0))
    asked = _submit(cluster, web_a, {**body, "negative_prompt": "blurry, dark"})
    plain = _submit(cluster, web_a, body)
    views = [_wait(cluster, web_a, job_id) for job_id in (guarded, asked, plain)]
    assert [v["status"] for v in views] == ["succeeded"] * 3, views
    assert [v["moderation"]["action"] for v in views] == ["guard", "allow", "allow"]
    pngs = [_png(cluster, web_a, view) for view in views]
    assert pngs[0] == pngs[1] != pngs[2]
    # The stricter image threshold: the worker's real image check refuses what it passes.
    strict = _wait(cluster, web_a, guarding_web(body, Safeguards("blurry, dark", 1e-6)))
    assert strict["status"] == "refused" and strict["images"] == []
    refused = {"action": "refuse", "stage": "image", "categories": ["sexual"]}
    assert strict["error"]["moderation"] == refused
    with cluster["engine"].connect() as conn:
        log = conn.execute(
            text("SELECT outcome, stage FROM refusals WHERE job_id = :id ORDER BY id"),
            {"id": strict["id"]},
        ).all()
    assert [tuple(row) for row in log] == [("guarded", "classifier"), ("refused", "image")]


def _stopped(cluster) -> float:
    return sum(
        metric_value(w.metrics(), "safecanvas_batches_stopped_total") for w in cluster["workers"]
    )


def test_a_cancel_on_one_web_server_stops_a_job_another_accepted(cluster):
    web_a, web_b = cluster["webs"]
    stopped_before = _stopped(cluster)
    # Different steps: never one batch; each would run for a minute or more.
    long = [_submit(cluster, web_a, {**LONG, "steps": s}) for s in (250, 249)]
    queued = _submit(cluster, web_a, {"prompt": PROMPT, "steps": 200})
    _wait(cluster, web_a, long[0], until={"running"})
    time.sleep(1.0)  # the other one starts too if the other worker took it
    running = [j for j in long if _view(cluster, web_a, j)["status"] == "running"]
    cancelled_at = time.monotonic()
    for job_id in [queued, *long]:
        response = requests.delete(
            web_b.url(f"/api/v1/jobs/{job_id}"), headers=_auth(cluster), timeout=30
        )
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
    # Each running batch stops at its next step instead of finishing its minute of work.
    deadline = time.monotonic() + 30
    while _stopped(cluster) < stopped_before + len(running):
        assert time.monotonic() < deadline, "a cancelled job kept its worker busy"
        time.sleep(0.2)
    quick = _submit(cluster, web_a, {"prompt": PROMPT, "steps": 5})
    assert _wait(cluster, web_a, quick, timeout=60)["status"] == "succeeded"
    assert time.monotonic() - cancelled_at < 45
    for job_id in [queued, *long]:
        view = _view(cluster, web_a, job_id)
        assert view["status"] == "cancelled" and view["images"] == []
    assert _row(cluster, queued)["attempts"] == 0  # it never started


def test_a_worker_killed_mid_job_leaves_no_job_stuck(cluster):
    web_a, _ = cluster["webs"]
    job_id = _submit(cluster, web_a, {"prompt": PROMPT, "n": 2, "steps": 150})
    _wait(cluster, web_a, job_id, until={"running"})
    holder = _row(cluster, job_id)["worker"]
    victim = next(w for w in cluster["workers"] if f":{w.proc.pid}:" in holder)
    victim.kill()
    view = _wait(cluster, web_a, job_id, timeout=150)
    row = _row(cluster, job_id)
    if view["status"] == "succeeded":  # retried once on the other worker
        assert row["attempts"] == 2 and row["worker"] != holder
    else:
        assert view["error"]["code"] == "worker_lost", view


def test_a_web_restart_loses_no_queued_job(cluster):
    web_a, web_b = cluster["webs"]
    for worker in cluster["workers"]:
        worker.stop()  # nobody consumes (one was killed above): the jobs wait in the broker
    ids = [_submit(cluster, web_a, {"prompt": PROMPT, "steps": 5}) for _ in range(3)]
    web_a.kill()
    web_a.start()
    assert all(_view(cluster, web_a, job_id)["status"] == "queued" for job_id in ids)
    cluster["workers"][0].start()
    assert all(_wait(cluster, web_b, job_id)["status"] == "succeeded" for job_id in ids)
