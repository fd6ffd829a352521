"""The experiment page: figures per version, significance, the buttons and their CSRF check."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.webapp.helpers import bearer
from tests.webapp.test_experiments import BASE, TUNED, start
from webapp.db import session_factory, session_scope
from webapp.experiments import get_experiments
from webapp.models import Image, ImageFeedback, Job, utcnow

PASSWORD = "correct-horse-battery"


def csrf_token(client, path: str) -> str:
    """The CSRF token a page hands the browser."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def admin(runner, client):
    """A client logged in as an admin (with a CSRF token when protection is on)."""
    assert runner.invoke(args=["create-admin", "alice", "--password", PASSWORD]).exit_code == 0
    data = {
        "username": "alice",
        "password": PASSWORD,
        "csrf_token": csrf_token(client, "/admin/login"),
    }
    assert client.post("/admin/login", data=data).status_code == 302
    return client


def add_jobs(app, exp_id, version, jobs, failed, up=0, down=0):
    """``jobs`` finished jobs of an arm, ``failed`` of them failed, with votes on the others."""
    now = utcnow()
    votes = ["up"] * up + ["down"] * down
    with session_scope(session_factory(app)) as session:
        for n in range(jobs):
            job_id = f"{version}-{n}"
            session.add(
                Job(
                    id=job_id,
                    requester=f"key:{n}",
                    source="api",
                    status="failed" if n < failed else "succeeded",
                    error_code="generation_failed" if n < failed else None,
                    params={},
                    model_version=version,
                    experiment_id=exp_id,
                    experiment_arm=version,
                    started_at=now,
                    finished_at=now,
                )
            )
            if n >= failed and votes:
                session.flush()
                image_id = str(uuid.uuid4())
                session.add(
                    Image(
                        id=image_id,
                        job_id=job_id,
                        requester=f"key:{n}",
                        position=0,
                        seed=n,
                        path="x.png",
                        prompt="a square",
                        model_version=version,
                        moderator_version="m",
                    )
                )
                session.flush()
                vote = 1 if votes.pop() == "up" else -1
                session.add(ImageFeedback(image_id=image_id, requester=f"key:{n}", vote=vote))


def test_the_report_counts_compares_and_tests_each_version(
    fake_app, admin_key, client, two_versions
):
    exp = start(client, admin_key, {BASE: 50, TUNED: 50})
    add_jobs(fake_app, exp["id"], BASE, 110, failed=2, up=60, down=40)
    add_jobs(fake_app, exp["id"], TUNED, 110, failed=10, up=45, down=55)
    body = client.get(f"/admin/api/experiments/{exp['id']}", headers=bearer(admin_key)).get_json()
    control, tuned = body["versions"]
    assert (control["version"], control["control"]) == (BASE, True)
    assert (tuned["requests"], tuned["errors"], tuned["votes"], tuned["thumbs_up"]) == (
        110,
        10,
        100,
        45,
    )
    # 10/110 vs 2/110 failed: z = 2.38, p = 0.0175; 45% vs 60% thumbs up: z = -2.12, p = 0.034
    assert tuned["error_test"]["p_value"] == pytest.approx(0.0175, abs=1e-3)
    assert tuned["error_test"]["significant"] and tuned["thumbs_up_test"]["significant"]
    assert tuned["thumbs_up_test"]["p_value"] == pytest.approx(0.0339, abs=1e-3)
    low, high = tuned["thumbs_up_interval"]
    assert low == pytest.approx(0.3561, abs=1e-3) and high == pytest.approx(0.5475, abs=1e-3)
    assert control["error_test"] is None


def test_the_page_shows_figures_and_no_feedback_yet(fake_app, admin, admin_key, two_versions):
    exp = start(admin, admin_key, {BASE: 90, TUNED: 10})
    add_jobs(fake_app, exp["id"], BASE, 30, failed=0)
    add_jobs(fake_app, exp["id"], TUNED, 20, failed=5)
    page = admin.get("/admin/experiments").get_data(as_text=True)
    assert f"Experiment {exp['id']}" in page
    assert "5 of 20 (25.0%)" in page and "0 of 30 (0.0%)" in page
    assert page.count("no feedback yet") == 2
    # 5/20 vs 0/30: pooled 0.1, z = 0.25 / sqrt(.1 * .9 * (1/20 + 1/30)) = 2.89
    assert "errors: +25.0 pts, p = 0.004: <strong>significant</strong>" in page
    assert "two-sided two-proportion z-test" in page


def test_the_page_needs_an_admin_login(client, admin_key):
    assert client.get("/admin/experiments").status_code == 302
    assert client.get("/admin/experiments", headers=bearer(admin_key)).status_code == 403


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_rollback_and_promote_buttons_need_the_csrf_token(fake_app, admin, two_versions):
    token = csrf_token(admin, "/admin/experiments")
    form = {"weight:fake-1": "90", "weight:fake-2": "10", "kind": "canary", "min_sample": "20"}
    assert admin.post("/admin/experiments/start", data=form).status_code == 400  # no token
    response = admin.post("/admin/experiments/start", data={**form, "csrf_token": token})
    assert response.status_code == 303
    exp_id = get_experiments(fake_app).store.running_id()
    assert get_experiments(fake_app).store.get(exp_id)["guard"]["min_sample"] == 20

    rollback = f"/admin/experiments/{exp_id}/rollback"
    assert admin.post(rollback, data={"version": TUNED}).status_code == 400
    admin.post(rollback, data={"version": TUNED, "csrf_token": token})
    page = admin.get(f"/admin/experiments/{exp_id}").get_data(as_text=True)
    assert "rolled back" in page and "by an administrator" in page

    end = f"/admin/experiments/{exp_id}/end"
    assert admin.post(end, data={"action": "promote", "winner": TUNED}).status_code == 400
    done = admin.post(end, data={"action": "promote", "winner": TUNED, "csrf_token": token})
    assert done.status_code == 303
    assert two_versions.registry.active == TUNED
    history = admin.get("/admin/experiments").get_data(as_text=True)
    assert f"promoted: <code>{TUNED}</code>" in history


def test_a_bad_form_is_flashed_not_a_500(admin, two_versions):
    response = admin.post("/admin/experiments/start", data={"weight:fake-1": "90"})
    assert response.status_code == 303
    page = admin.get("/admin/experiments").get_data(as_text=True)
    assert "Nothing changed: &#39;weights&#39; needs at least two versions." in page
