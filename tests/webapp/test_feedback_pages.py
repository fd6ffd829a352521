"""Feedback in the studio's pages: the forms on every card, without script and from the script."""

from __future__ import annotations

import re

import pytest

from tests.webapp.test_studio import JSON, finished, submit


def my_image(client) -> str:
    """One image made by this browser."""
    view = finished(client, submit(client, n="1")["status_url"])
    return view["images"][0]["id"]


def vote_button(page: str, vote: str) -> str:
    """The opening tag of a card's thumbs button."""
    return re.search(rf'<button class="vote vote-{vote}"[^>]*>', page).group(0)


def test_cards_carry_thumbs_and_a_report_form(client):
    view = finished(client, submit(client, n="1")["status_url"])
    image = view["images"][0]["id"]
    job_page = client.get(f"/jobs/{view['id']}").get_data(as_text=True)
    assert f'action="/images/{image}/feedback"' in job_page and "feedback.js" in job_page
    history = client.get("/history").get_data(as_text=True)
    assert f'action="/images/{image}/feedback"' in history
    assert 'aria-pressed="false"' in vote_button(history, "up")
    assert "Report this image" in history and 'name="reason"' in history
    assert '<option value="violence">' in history
    index = client.get("/").get_data(as_text=True)
    assert 'id="feedback-template"' in index and 'action="/images/IMAGE_ID/feedback"' in index
    assert "feedback.js" in index and "feedback.js" in history


def test_without_script_a_vote_posts_and_the_page_shows_it(client):
    image = my_image(client)
    response = client.post(f"/images/{image}/feedback", data={"vote": "up", "next": "/history"})
    assert response.status_code == 303 and response.headers["Location"] == "/history"
    history = client.get("/history").get_data(as_text=True)
    pressed = vote_button(history, "up")
    assert 'aria-pressed="true"' in pressed and 'value="none"' in pressed  # again: clears it
    assert 'aria-pressed="false"' in vote_button(history, "down")
    client.post(f"/images/{image}/feedback", data={"vote": "down"})
    history = client.get("/history").get_data(as_text=True)
    assert 'aria-pressed="true"' in vote_button(history, "down")
    assert 'aria-pressed="false"' in vote_button(history, "up")


def test_a_report_from_the_page_reaches_the_review_queue(client, admin_key):
    image = my_image(client)
    body = {"report": {"reason": "looks hateful", "category": "hate"}}
    answer = client.post(f"/images/{image}/feedback", json=body, headers=JSON)
    assert answer.status_code == 200 and answer.get_json()["reported"] is True
    queue = client.get(
        "/admin/api/refusals?outcome=reported", headers={"Authorization": f"Bearer {admin_key}"}
    ).get_json()
    assert [(i["stage"], i["reason"], i["source"]) for i in queue["items"]] == [
        ("user_report", "looks hateful", "form")
    ]
    history = client.get("/history").get_data(as_text=True)
    assert "Reported for review." in history and "Report this image" not in history


def test_another_browser_cannot_give_feedback(fake_app, client):
    image = my_image(client)
    stranger = fake_app.test_client()
    response = stranger.post(f"/images/{image}/feedback", json={"vote": "up"}, headers=JSON)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_blank_report_from_the_form_is_a_clear_400(client):
    image = my_image(client)
    response = client.post(
        f"/images/{image}/feedback", json={"report": {"reason": ""}}, headers=JSON
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("'report.reason' must be text")


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_feedback_from_the_page_needs_the_csrf_token(client):
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    image = my_image_with_token(client, token)
    path = f"/images/{image}/feedback"
    assert client.post(path, json={"vote": "up"}, headers=JSON).status_code == 400
    response = client.post(path, json={"vote": "up"}, headers={**JSON, "X-CSRFToken": token})
    assert response.status_code == 200


def my_image_with_token(client, token: str) -> str:
    """One image made by this browser through the CSRF-checked form."""
    from tests.webapp.test_studio import FORM

    response = client.post("/jobs", data={**FORM, "n": "1"}, headers={**JSON, "X-CSRFToken": token})
    assert response.status_code == 202
    return finished(client, response.json["status_url"])["images"][0]["id"]
