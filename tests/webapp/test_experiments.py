"""Traffic splits: weights, sticky assignment, the override, promote/abandon and history."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from tests.webapp.helpers import bearer, wait_final
from webapp.db import session_factory, session_scope
from webapp.experiments import get_experiments
from webapp.generation_service import get_generation_service
from webapp.models import Job

BASE, TUNED = "fake-1", "fake-2"
REQUESTERS = 400
# 10% of 400 is 40 with a binomial standard deviation of 6; we allow three of them either way.
TUNED_RANGE = (40 - 18, 40 + 18)


def start(client, admin_key, weights, **extra):
    """Start an experiment through the admin JSON API."""
    body = {"weights": weights, **extra}
    response = client.post("/admin/api/experiments", json=body, headers=bearer(admin_key))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def submit(app, requester: str, **params) -> Job:
    """One request through the real generation service, as ``requester``."""
    with app.test_request_context():
        service = get_generation_service(app)
        return service.submit({"prompt": "a blue square", **params}, requester, "api")


def job_row(app, job_id: str) -> Job:
    """A job's row as stored."""
    with session_scope(session_factory(app)) as session:
        return session.scalar(select(Job).where(Job.id == job_id))


@pytest.mark.app_config(SAFECANVAS_QUEUE_MAX=REQUESTERS + 10)
def test_a_90_10_split_sends_about_10_percent_to_the_tuned_version(
    fake_app, client, admin_key, two_versions
):
    exp = start(client, admin_key, {BASE: 90, TUNED: 10})
    rng = random.Random(12)  # seeded requester ids: the run is the same every time
    jobs = [submit(fake_app, f"key:{rng.randrange(10**9)}") for _ in range(REQUESTERS)]
    rows = [job_row(fake_app, job.id) for job in jobs]
    tuned = sum(row.experiment_arm == TUNED for row in rows)
    assert TUNED_RANGE[0] <= tuned <= TUNED_RANGE[1], tuned
    assert all(row.experiment_id == exp["id"] for row in rows)
    assert all(row.model_version == row.experiment_arm for row in rows)
    # the version reached the worker: the generator ran each job with its arm's version
    for job in jobs[:20]:
        with fake_app.app_context():
            get_generation_service(fake_app).wait(job.id, 10)
    ran = {r.version for r in two_versions.requests}
    assert ran == {BASE, TUNED}


def test_a_requester_keeps_their_version(fake_app, client, admin_key, make_key, two_versions):
    start(client, admin_key, {BASE: 50, TUNED: 50})
    seen = {}
    for n in range(8):
        key = make_key(f"user-{n}")
        arms = set()
        for _ in range(3):
            response = client.post(
                "/api/v1/jobs", json={"prompt": "a blue square"}, headers=bearer(key)
            )
            assert response.status_code == 202
            arms.add(job_row(fake_app, response.get_json()["id"]).experiment_arm)
        assert len(arms) == 1, arms
        seen[key] = arms.pop()
    assert set(seen.values()) == {BASE, TUNED}  # eight requesters do not all land on one side


def test_an_explicit_model_overrides_the_split(fake_app, client, admin_key, api_key, two_versions):
    start(client, admin_key, {BASE: 0, TUNED: 100})
    assigned = client.post("/api/v1/jobs", json={"prompt": "a square"}, headers=bearer(api_key))
    assert job_row(fake_app, assigned.get_json()["id"]).model_version == TUNED
    body = {"prompt": "a square", "model": BASE}
    response = client.post("/api/v1/jobs", json=body, headers=bearer(api_key))
    row = job_row(fake_app, response.get_json()["id"])
    assert (row.model_version, row.experiment_id, row.experiment_arm) == (BASE, None, None)
    view = wait_final(client, row.id, api_key)
    assert view["model"] == BASE


def test_promote_makes_the_winner_active_and_ends_the_split(
    fake_app, client, admin_key, api_key, two_versions
):
    exp = start(client, admin_key, {BASE: 90, TUNED: 10}, name="tuned vs base")
    path = f"/admin/api/experiments/{exp['id']}/end"
    done = client.post(path, json={"action": "promote", "winner": TUNED}, headers=bearer(admin_key))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "promoted" and done.get_json()["winner"] == TUNED
    assert two_versions.registry.active == TUNED
    again = client.post(path, json={"action": "abandon"}, headers=bearer(admin_key))
    assert again.status_code == 409
    response = client.post("/api/v1/jobs", json={"prompt": "a square"}, headers=bearer(api_key))
    assert job_row(fake_app, response.get_json()["id"]).experiment_id is None


def test_abandon_keeps_the_active_version_and_history_keeps_both(
    fake_app, client, admin_key, two_versions
):
    first = start(client, admin_key, {BASE: 90, TUNED: 10})
    conflict = client.post(
        "/admin/api/experiments", json={"weights": {BASE: 1, TUNED: 1}}, headers=bearer(admin_key)
    )
    assert conflict.status_code == 409  # one experiment at a time
    client.post(
        f"/admin/api/experiments/{first['id']}/end",
        json={"action": "abandon"},
        headers=bearer(admin_key),
    )
    second = start(client, admin_key, {BASE: 50, TUNED: 50})
    listing = client.get("/admin/api/experiments", headers=bearer(admin_key)).get_json()
    assert listing["running"] == second["id"]
    assert [(e["id"], e["status"]) for e in listing["items"]] == [
        (second["id"], "running"),
        (first["id"], "abandoned"),
    ]
    assert two_versions.registry.active != TUNED
    events = client.get(f"/admin/api/experiments/{first['id']}", headers=bearer(admin_key))
    assert [e["kind"] for e in events.get_json()["events"]] == ["started", "abandoned"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"weights": {BASE: 90}}, "weights"),
        ({"weights": {BASE: 90, "nope": 10}}, "weights"),
        ({"weights": {BASE: 90, TUNED: "10"}}, "weights"),
        ({"weights": {BASE: 0, TUNED: 0}}, "weights"),
        ({"weights": {BASE: 90, TUNED: -1}}, "weights"),
        ({"weights": [BASE, TUNED]}, "weights"),
        ({"weights": {BASE: 90, TUNED: 10}, "kind": "ab"}, "kind"),
        ({"weights": {BASE: 90, TUNED: 10}, "control": "other"}, "control"),
        ({"weights": {BASE: 90, TUNED: 10}, "kind": "canary", "min_sample": 0}, "min_sample"),
        ({"weights": {BASE: 90, TUNED: 10}, "kind": "canary", "error_margin": 2}, "error_margin"),
    ],
)
def test_bad_experiments_are_refused_naming_the_field(client, admin_key, two_versions, body, param):
    response = client.post("/admin/api/experiments", json=body, headers=bearer(admin_key))
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_only_admins_run_experiments(client, api_key, two_versions):
    body = {"weights": {BASE: 90, TUNED: 10}}
    assert client.post("/admin/api/experiments", json=body).status_code == 401
    response = client.post("/admin/api/experiments", json=body, headers=bearer(api_key))
    assert response.status_code == 403


def test_the_cli_starts_lists_and_promotes(fake_app, runner, two_versions):
    started = runner.invoke(args=["experiment", "start", f"{BASE}=90", f"{TUNED}=10"])
    assert started.exit_code == 0, started.output
    listed = runner.invoke(args=["experiment", "list"])
    assert f"1\trunning\tsplit\t{BASE}=90 {TUNED}=10" in listed.output
    bad = runner.invoke(args=["experiment", "weights", "1", "unknown=5"])
    assert bad.exit_code != 0 and "not an arm" in bad.output
    reweighed = runner.invoke(args=["experiment", "weights", "1", f"{TUNED}=50"])
    assert '"weight": 50' in reweighed.output
    promoted = runner.invoke(args=["experiment", "promote", "1", TUNED])
    assert promoted.exit_code == 0, promoted.output
    assert two_versions.registry.active == TUNED
    assert "1\tpromoted" in runner.invoke(args=["experiment", "list"]).output


def test_assignment_is_the_same_in_every_process():
    import os
    import subprocess
    import sys

    from webapp.experiments.assign import bucket

    code = "from webapp.experiments.assign import bucket; print(repr(bucket(7, 'key:42')))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {repr(bucket(7, "key:42"))}


def test_the_studio_form_leaves_the_version_to_the_experiment(
    fake_app, client, admin_key, two_versions
):
    start(client, admin_key, {BASE: 0, TUNED: 100})
    page = client.get("/").get_data(as_text=True)
    assert f'<option value="" selected>Default ({BASE})</option>' in page
    form = {"prompt": "a square", "model": ""}
    response = client.post("/jobs", data=form, headers={"Accept": "application/json"})
    row = job_row(fake_app, response.get_json()["id"])
    assert (row.experiment_arm, row.model_version) == (TUNED, TUNED)


def test_the_cli_starts_a_canary_with_its_rule(fake_app, runner, two_versions):
    args = ["experiment", "start", f"{BASE}=95", f"{TUNED}=5", "--canary", "--min-sample", "30"]
    result = runner.invoke(args=[*args, "--error-margin", "0", "--latency-margin", "1.5"])
    assert result.exit_code == 0, result.output
    guard = get_experiments(fake_app).store.get(1)["guard"]
    assert guard == {
        "min_sample": 30,
        "error_margin": 0,
        "refusal_margin": 0.05,  # the configured default
        "latency_margin": 1.5,
    }
    bad = runner.invoke(args=["experiment", "start", f"{BASE}=ninety", f"{TUNED}=5"])
    assert bad.exit_code != 0 and "VERSION=WEIGHT" in bad.output


def test_the_api_rolls_an_arm_back_and_new_weights_bring_it_back(
    fake_app, client, admin_key, api_key, two_versions
):
    exp = start(client, admin_key, {BASE: 0, TUNED: 100})
    path = f"/admin/api/experiments/{exp['id']}"
    control = client.post(f"{path}/rollback", json={"version": BASE}, headers=bearer(admin_key))
    assert control.status_code == 400 and control.get_json()["error"]["param"] == "version"
    response = client.post(f"{path}/rollback", json={"version": TUNED}, headers=bearer(admin_key))
    assert response.status_code == 200
    arm = next(a for a in response.get_json()["arms"] if a["version"] == TUNED)
    assert (arm["state"], arm["weight"]) == ("rolled_back", 0)
    job = client.post("/api/v1/jobs", json={"prompt": "a square"}, headers=bearer(api_key))
    row = job_row(fake_app, job.get_json()["id"])  # every weight 0: the active version, uncounted
    assert (row.model_version, row.experiment_id) == (BASE, None)
    back = client.post(f"{path}/weights", json={"weights": {TUNED: 5}}, headers=bearer(admin_key))
    arm = next(a for a in back.get_json()["arms"] if a["version"] == TUNED)
    assert (arm["state"], arm["weight"]) == ("on", 5)
    kinds = [e["kind"] for e in client.get(path, headers=bearer(admin_key)).get_json()["events"]]
    assert kinds == ["started", "rollback", "weights"]


def test_an_admin_session_must_send_json_to_the_api(fake_app, runner, client, two_versions):
    password = "plum-orbit-cactus-41"
    runner.invoke(args=["create-admin", "alice", "--password", password])
    client.post("/admin/login", data={"username": "alice", "password": password})
    form = client.post("/admin/api/experiments", data={"weights": "x"})
    assert form.status_code == 400 and "application/json" in form.get_json()["error"]["message"]
    body = {"weights": {BASE: 90, TUNED: 10}}
    started = client.post("/admin/api/experiments", json=body)
    assert started.status_code == 201 and started.get_json()["created_by"] == "alice"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("", {"weights": {BASE: 90, TUNED: 10}, "control": ["x"]}, 400),
        ("", {"weights": {BASE: 90, TUNED: 10}, "kind": []}, 400),
        ("", {"weights": {BASE: 90, TUNED: 10}, "name": 5}, 400),
        ("/1/end", {"action": {}}, 400),
        ("/1/end", {"action": "promote", "winner": {}}, 400),
        ("/1/weights", {"weights": {TUNED: True}}, 400),
        ("/1/rollback", {"version": []}, 400),
        ("/99999999999999999999/end", {"action": "abandon"}, 404),
        ("/99999999999999999999", None, 404),
    ],
)
def test_odd_input_is_a_4xx_never_a_500(client, admin_key, two_versions, path, body, status):
    start(client, admin_key, {BASE: 90, TUNED: 10})
    url = f"/admin/api/experiments{path}"
    if body is None:
        response = client.get(url, headers=bearer(admin_key))
    else:
        response = client.post(url, json=body, headers=bearer(admin_key))
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]


def test_experiment_answers_match_the_openapi_document(fake_app, client, admin_key, two_versions):
    from tests.webapp.test_openapi_schemas import check

    doc = client.get("/api/openapi.json").get_json()
    auth = bearer(admin_key)
    body = {"weights": {BASE: 90, TUNED: 10}, "kind": "canary", "min_sample": 5}
    started = client.post("/admin/api/experiments", json=body, headers=auth)
    check(doc, "/admin/api/experiments", "post", 201, started.get_json())
    path = f"/admin/api/experiments/{started.get_json()['id']}"
    submit(fake_app, "key:1")
    check(
        doc,
        "/admin/api/experiments/{exp_id}",
        "get",
        200,
        client.get(path, headers=auth).get_json(),
    )
    answer = client.post(f"{path}/rollback", json={"version": TUNED}, headers=auth).get_json()
    check(doc, "/admin/api/experiments/{exp_id}/rollback", "post", 200, answer)
    answer = client.post(f"{path}/weights", json={"weights": {TUNED: 5}}, headers=auth).get_json()
    check(doc, "/admin/api/experiments/{exp_id}/weights", "post", 200, answer)
    answer = client.post(f"{path}/end", json={"action": "abandon"}, headers=auth).get_json()
    check(doc, "/admin/api/experiments/{exp_id}/end", "post", 200, answer)
    listing = client.get("/admin/api/experiments", headers=auth).get_json()
    check(doc, "/admin/api/experiments", "get", 200, listing)
    conflict = client.post(f"{path}/end", json={"action": "abandon"}, headers=auth)
    check(doc, "/admin/api/experiments/{exp_id}/end", "post", 409, conflict.get_json())


def test_a_lora_scale_without_model_is_for_the_active_version(
    fake_app, client, admin_key, api_key, two_versions
):
    two_versions.active_version = TUNED  # an adapter is active; the experiment sends to the base
    start(client, admin_key, {BASE: 100, TUNED: 0})
    body = {"prompt": "a square", "lora_scale": 0.5}
    response = client.post("/api/v1/jobs", json=body, headers=bearer(api_key))
    assert response.status_code == 202, response.get_json()
    row = job_row(fake_app, response.get_json()["id"])
    assert (row.model_version, row.experiment_id) == (TUNED, None)
