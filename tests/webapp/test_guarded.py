"""Guard verdicts: the job runs with its safeguards, the log keeps it, every answer says so.

The stand-in moderation guards prompts with 'borderline' (tests/webapp/api_fakes.py) and the
stand-in model records each pipeline call; what is under test is the web side in between.
"""

from __future__ import annotations

import time

import pytest

from tests.webapp.api_fakes import GUARD_IMAGE_THRESHOLD, SAFETY_NEGATIVE
from tests.webapp.helpers import bearer, wait_final
from tests.webapp.test_openapi_schemas import check
from webapp.models import Job
from webapp.safeguards import guarded_request

GUARDED = "a borderline beach scene"


@pytest.fixture
def admin(runner, client):
    """A logged-in admin's client."""
    result = runner.invoke(args=["create-admin", "alice", "--password", "correct-horse"])
    assert result.exit_code == 0, result.output
    response = client.post("/admin/login", data={"username": "alice", "password": "correct-horse"})
    assert response.status_code == 302
    return client


def _job(client, key, **body):
    response = client.post("/api/v1/jobs", json=body, headers=bearer(key))
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def _log(client, admin_key, **filters):
    response = client.get("/admin/api/refusals", query_string=filters, headers=bearer(admin_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_the_safety_negative_prompt_reaches_the_pipeline_call(client, api_key, fake_generator):
    job = _job(client, api_key, prompt=GUARDED, negative_prompt="blurry")
    assert job["moderation"] == {
        "action": "guard",
        "categories": ["sexual"],
        "policy_url": "/policy",
    }
    assert wait_final(client, job["id"], api_key)["status"] == "succeeded"
    ran = fake_generator.requests[-1]
    assert ran.prompt == GUARDED and ran.negative_prompt == f"{SAFETY_NEGATIVE}, blurry"


def test_an_allowed_prompt_runs_as_asked(client, api_key, fake_generator, fake_moderation):
    job = _job(client, api_key, prompt="a calm beach scene", negative_prompt="blurry")
    assert job["moderation"] == {"action": "allow", "categories": []}
    view = wait_final(client, job["id"], api_key)
    assert view["status"] == "succeeded"
    assert view["moderation"] == {"action": "allow", "categories": []}
    assert fake_generator.requests[-1].negative_prompt == "blurry"
    assert fake_moderation.thresholds[-1] is None


def test_the_stricter_image_threshold_applies_to_the_jobs_images(
    client, api_key, admin_key, fake_moderation
):
    # A pink image scores 0.3: under the default threshold (0.4), over a guarded job's (0.2).
    plain = wait_final(client, _job(client, api_key, prompt="a pink square")["id"], api_key)
    assert plain["status"] == "succeeded" and fake_moderation.thresholds[-1] is None
    guarded = _job(client, api_key, prompt="a borderline pink square")
    view = wait_final(client, guarded["id"], api_key)
    assert fake_moderation.thresholds[-1] == GUARD_IMAGE_THRESHOLD
    assert view["status"] == "refused" and view["images"] == []
    assert view["error"]["moderation"]["stage"] == "image"
    assert view["moderation"]["action"] == "guard"
    image_rows = _log(client, admin_key, stage="image")
    assert [(r["outcome"], r["job_id"]) for r in image_rows] == [("refused", guarded["id"])]


def test_the_guarded_prompt_is_logged_for_review_and_filterable(client, api_key, admin_key):
    job = _job(client, api_key, prompt=GUARDED, negative_prompt="blurry")
    wait_final(client, job["id"], api_key)
    refused = client.post("/api/v1/jobs", json={"prompt": "forbidden"}, headers=bearer(api_key))
    assert refused.status_code == 400  # a refused prompt gets no job
    rows = _log(client, admin_key)
    assert {r["outcome"] for r in rows} == {"guarded", "refused"}
    (row,) = _log(client, admin_key, outcome="guarded")
    assert row["prompt"] == GUARDED and row["negative_prompt"] == "blurry"  # the user's own
    assert row["categories"] == ["sexual"] and row["stage"] == "classifier"
    assert row["job_id"] == job["id"] and row["language"] == "en"
    assert row["review_status"] == "unreviewed" and row["moderator_version"] == "fake-mod-1"
    assert [r["outcome"] for r in _log(client, admin_key, outcome="refused")] == ["refused"]
    bad = client.get("/admin/api/refusals?outcome=maybe", headers=bearer(admin_key))
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "outcome"


@pytest.mark.app_config(SAFECANVAS_REFUSAL_LIMIT="2/minute")
def test_a_guarded_prompt_does_not_cool_the_requester_down(client, api_key):
    def status(prompt: str) -> int:
        return client.post(
            "/api/v1/jobs", json={"prompt": prompt}, headers=bearer(api_key)
        ).status_code

    assert [status(GUARDED) for _ in range(3)] == [202, 202, 202]
    assert [status("forbidden"), status("forbidden"), status(GUARDED)] == [400, 400, 429]


def test_the_job_row_carries_the_safeguards(fake_app, client, api_key, admin_key):
    job = _job(client, api_key, prompt=GUARDED)
    wait_final(client, job["id"], api_key)
    (row,) = _log(client, admin_key, outcome="guarded")
    from webapp.db import session_factory, session_scope

    with session_scope(session_factory(fake_app)) as session:
        stored = session.get(Job, job["id"]).moderation
    assert stored == {
        "action": "guard",
        "categories": ["sexual"],
        "safeguards": {
            "negative_prompt": SAFETY_NEGATIVE,
            "image_threshold": GUARD_IMAGE_THRESHOLD,
        },
        "log_id": row["id"],
    }


def test_sync_and_openai_answers_carry_the_outcome(client, api_key):
    sync = client.post("/api/v1/images", json={"prompt": GUARDED}, headers=bearer(api_key))
    assert sync.status_code == 200
    assert sync.get_json()["moderation"]["action"] == "guard"
    openai = client.post(
        "/v1/images/generations", json={"prompt": GUARDED}, headers=bearer(api_key)
    )
    assert openai.status_code == 200
    assert openai.get_json()["moderation"] == {
        "action": "guard",
        "categories": ["sexual"],
        "policy_url": "/policy",
    }
    assert "safeguards" not in openai.get_json()["moderation"]  # the terms stay server-side
    doc = client.get("/api/openapi.json").get_json()
    check(doc, "/api/v1/images", "post", 200, sync.get_json())
    check(doc, "/v1/images/generations", "post", 200, openai.get_json())
    queued = _job(client, api_key, prompt="a borderline pink square")
    check(doc, "/api/v1/jobs", "post", 202, queued)
    refused = wait_final(client, queued["id"], api_key)  # the stricter image check refused it
    assert refused["status"] == "refused" and refused["moderation"]["action"] == "guard"
    check(doc, "/api/v1/jobs/{job_id}", "get", 200, refused)


def test_a_negative_prompt_with_no_room_for_the_safeguard_is_a_clear_400(
    client, api_key, fake_generator, admin_key
):
    limit = fake_generator.limits.max_prompt_chars
    body = {"prompt": GUARDED, "negative_prompt": "x" * limit}
    response = client.post("/api/v1/jobs", json=body, headers=bearer(api_key))
    assert response.status_code == 400
    error = response.get_json()["error"]
    room = limit - len(SAFETY_NEGATIVE) - 2
    assert error["param"] == "negative_prompt" and f"at most {room} characters" in error["message"]
    assert _log(client, admin_key) == []  # nothing was generated, so nothing to review
    fits = {"prompt": GUARDED, "negative_prompt": "x" * room}
    assert client.post("/api/v1/jobs", json=fits, headers=bearer(api_key)).status_code == 202


def test_guarded_request_puts_the_safeguard_first():
    from generation.types import GenerationRequest
    from safety.verdict import Safeguards

    req = GenerationRequest(prompt="p", negative_prompt="  ")
    assert guarded_request(req, None) is req
    assert guarded_request(req, Safeguards("nsfw", 0.2)).negative_prompt == "nsfw"
    own = GenerationRequest(prompt="p", negative_prompt="blurry")
    assert guarded_request(own, Safeguards("nsfw", 0.2)).negative_prompt == "nsfw, blurry"


def test_the_studio_shows_a_guarded_result(client):
    form = {"prompt": GUARDED, "n": "1", "size": "32x32", "steps": "2"}
    response = client.post("/jobs", data=form)  # the no-script path: a redirect to the job
    assert response.status_code == 303
    status_url = response.headers["Location"]
    deadline = time.monotonic() + 10  # bounded by time, not by polls: CI's loop outran the job
    while time.monotonic() < deadline:
        view = client.get(status_url, headers={"Accept": "application/json"}).get_json()
        if view["status"] == "succeeded":
            break
        time.sleep(0.05)
    assert view["status"] == "succeeded", view
    page = client.get(status_url).get_data(as_text=True)
    assert "Generated with safeguards." in page and "<strong>sexual</strong>" in page
    assert '<a class="policy-link" href="/policy#sexual">' in page


def test_admin_reviews_a_guarded_entry(admin, api_key, admin_key):
    job = _job(admin, api_key, prompt=GUARDED)
    wait_final(admin, job["id"], api_key)
    page = admin.get("/admin/moderation?outcome=guarded").get_data(as_text=True)
    assert '<span class="tag guarded">guarded</span>' in page
    assert f'href="/jobs/{job["id"]}"' in page  # the admin sees what was generated
    assert 'value="should_refuse">Should refuse</button>' in page
    assert 'href="/policy#sexual"' in page and 'href="/policy"' in page
    (row,) = _log(admin, admin_key, outcome="guarded")
    response = admin.post(
        f"/admin/moderation/{row['id']}/review", data={"status": "should_refuse", "note": "nsfw"}
    )
    assert response.status_code == 303
    (row,) = _log(admin, admin_key, review_status="should_refuse")
    assert row["reviewer"] == "alice" and row["review_note"] == "nsfw"
    assert admin.get(f"/jobs/{job['id']}").status_code == 200


def test_should_refuse_is_for_guarded_entries_only(client, api_key, admin_key):
    client.post("/api/v1/jobs", json={"prompt": "forbidden thing"}, headers=bearer(api_key))
    (refused,) = _log(client, admin_key, outcome="refused")
    response = client.post(
        f"/admin/api/refusals/{refused['id']}/review",
        json={"status": "should_refuse"},
        headers=bearer(admin_key),
    )
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "status"
    confirmed = client.post(
        f"/admin/api/refusals/{refused['id']}/review",
        json={"status": "confirmed"},
        headers=bearer(admin_key),
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["review_status"] == "confirmed"
