"""The browser studio over the real generation service, with a stand-in model and moderation."""

from __future__ import annotations

import re
import time

import pytest

JSON = {"Accept": "application/json"}
FORM = {
    "prompt": "two red circles",
    "negative_prompt": "",
    "n": "2",
    "size": "32x32",
    "steps": "3",
    "guidance_scale": "3.5",
    "seed": "7",
}


def submit(client, **changes) -> dict:
    """Submit the form as the page's script does; returns the 202 body."""
    response = client.post("/jobs", data={**FORM, **changes}, headers=JSON)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.json


def finished(client, status_url: str, timeout: float = 10.0) -> dict:
    """Poll the page's status URL until the job ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(status_url, headers=JSON).json
        if view["status"] not in {"queued", "running"}:
            return view
        time.sleep(0.05)
    raise AssertionError(f"job did not finish: {view}")


def test_form_labels_every_control(client):
    page = client.get("/").get_data(as_text=True)
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page))
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    assert {"prompt", "negative_prompt", "n", "size", "steps", "guidance_scale", "seed"} <= ids
    assert ids <= labelled
    assert 'role="status"' in page and 'aria-live="polite"' in page
    assert '<option value="64x64"' in page  # sizes come from the loaded model


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_submit_follows_the_job_to_its_images(client):
    job = submit(client)
    assert job["status_url"] == f"/jobs/{job['id']}"
    assert job["events_url"] == f"/jobs/{job['id']}/events"
    view = finished(client, job["status_url"])
    assert view["status"] == "succeeded" and view["progress"] == 1.0
    assert [i["seed"] for i in view["images"]] == [7, 8]
    image = client.get(view["images"][0]["url"])
    assert image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert "private" in image.headers["Cache-Control"]
    saved = client.get(view["images"][0]["url"] + "?download=1")
    assert saved.headers["Content-Disposition"].startswith("attachment")


def test_events_stream_ends_with_the_done_event(client):
    job = submit(client)
    response = client.get(job["events_url"])
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    assert body.rstrip().split("\n\n")[-1].startswith("event: done")
    assert '"status": "succeeded"' in body


def test_without_script_the_form_leads_to_a_refreshing_job_page(client):
    response = client.post("/jobs", data=FORM)
    assert response.status_code == 303
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "Your images" in page
    deadline = time.monotonic() + 10
    while 'http-equiv="refresh"' in page and time.monotonic() < deadline:
        time.sleep(0.05)
        page = client.get(job_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert "?download=1" in page and "Seed <code data-seed>7</code>" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n", "two", "Number of images must be a whole number."),
        ("steps", "1.5", "Steps must be a whole number."),
        ("guidance_scale", "high", "Guidance must be a number."),
        ("seed", "abc", "Seed must be a whole number."),
    ],
)
def test_non_numbers_are_reported_on_their_field(client, field, value, message):
    response = client.post("/jobs", data={**FORM, field: value}, headers=JSON)
    assert response.status_code == 400
    assert response.json["error"] | {"type": None} == {
        "code": "invalid_request",
        "message": message,
        "param": field,
        "type": None,
    }
    page = client.post("/jobs", data={**FORM, field: value}).get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page


def test_the_service_checks_bounds_and_names_the_field(client):
    response = client.post("/jobs", data={**FORM, "n": "100"}, headers=JSON)
    assert response.status_code == 400 and response.json["error"]["param"] == "n"


def test_a_refused_prompt_names_the_category_and_that_it_was_logged(client):
    response = client.post("/jobs", data={**FORM, "prompt": "forbidden scene"}, headers=JSON)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "content_policy_violation"
    assert error["moderation"] == {
        "action": "refuse",
        "stage": "blocklist",
        "categories": ["violence"],
    }
    assert error["policy_url"] == "/policy"
    page = client.post("/jobs", data={**FORM, "prompt": "forbidden scene"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "<strong>violence</strong>" in text and "has been logged" in text
    assert '<a class="policy-link" href="/policy#violence">' in text
    assert "forbidden scene</textarea>" in text  # the user's input is kept


def test_a_refused_image_shows_the_refusal_on_the_job_page(client):
    job = submit(client, prompt="a red-flag square")
    view = finished(client, job["status_url"])
    assert view["status"] == "refused"
    assert view["error"]["moderation"]["stage"] == "image"
    page = client.get(job["status_url"]).get_data(as_text=True)
    assert "<strong>sexual</strong>" in page and "has been logged" in page
    assert '<a class="policy-link" href="/policy#sexual">' in page


def test_each_browser_sees_only_its_own_jobs_and_images(fake_app):
    mine, theirs = fake_app.test_client(), fake_app.test_client()
    job = submit(mine)
    view = finished(mine, job["status_url"])
    assert theirs.get(job["status_url"], headers=JSON).status_code == 404
    assert theirs.get(view["images"][0]["url"]).status_code == 404
    assert theirs.get(job["events_url"]).status_code == 404


def test_history_lists_this_browsers_images_with_prompts_escaped(fake_app):
    mine, theirs = fake_app.test_client(), fake_app.test_client()
    finished(mine, submit(mine, prompt="<b>bold</b> square", n="1")["status_url"])
    page = mine.get("/history").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt; square" in page and "<b>bold</b>" not in page
    assert "No images yet" in theirs.get("/history").get_data(as_text=True)


def test_cancel_stops_a_waiting_job(client, fake_generator):
    fake_generator.step_s = 0.05
    job = submit(client, steps="40", n="1")
    response = client.post(f"/jobs/{job['id']}/cancel", headers=JSON)
    assert response.status_code == 200
    assert finished(client, job["status_url"])["status"] == "cancelled"


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_form_posts_need_a_csrf_token_but_the_api_does_not(client):
    assert client.post("/jobs", data=FORM, headers=JSON).status_code == 400
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/jobs", data=FORM, headers={**JSON, "X-CSRFToken": token})
    assert response.status_code == 202
    assert client.post("/api/v1/jobs", json={"prompt": "x"}).status_code == 401


@pytest.mark.app_config(SAFECANVAS_FORM_RATE_LIMIT="2/minute")
def test_the_form_is_rate_limited_per_address(client):
    codes = [client.post("/jobs", data=FORM, headers=JSON).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert int(client.post("/jobs", data=FORM, headers=JSON).headers["Retry-After"]) > 0


def test_the_model_picker_appears_when_there_are_several_versions(client, fake_generator):
    fake_generator.version_names.append("fake-2")
    page = client.get("/").get_data(as_text=True)
    assert '<select id="model" name="model"' in page and "fake-1 (active)" in page
    response = client.post("/jobs", data={**FORM, "model": "fake-9"}, headers=JSON)
    assert response.status_code == 400 and response.json["error"]["param"] == "model"
