"""Feedback on images over the API: who may vote, changing a vote, reports in the review queue."""

from __future__ import annotations

import csv
import io

import jsonschema_rs
import pytest
from sqlalchemy import select

from tests.webapp.helpers import bearer
from webapp.db import session_factory, session_scope
from webapp.metrics import REGISTRY
from webapp.models import ImageFeedback


@pytest.fixture
def image_id(client, api_key) -> str:
    """An image made with ``api_key``."""
    response = client.post("/api/v1/images", json={"prompt": "a square"}, headers=bearer(api_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["images"][0]["url"].rsplit("/", 1)[1].removesuffix(".png")


def feedback(client, image: str, key: str, **body):
    """POST /api/v1/images/<image>/feedback with ``body`` as ``key``."""
    return client.post(f"/api/v1/images/{image}/feedback", json=body, headers=bearer(key))


def votes(app) -> list[tuple[str, int]]:
    """Every stored vote as (requester, vote)."""
    with session_scope(session_factory(app)) as session:
        rows = session.scalars(select(ImageFeedback).order_by(ImageFeedback.id)).all()
        return [(row.requester, row.vote) for row in rows]


def test_the_owner_votes_and_changes_the_vote(fake_app, client, api_key, image_id):
    first = feedback(client, image_id, api_key, vote="up")
    assert first.status_code == 200
    assert first.get_json() == {
        "image_id": image_id,
        "vote": "up",
        "reported": False,
        "report_id": None,
        "model": "fake-1",
    }
    assert feedback(client, image_id, api_key, vote="down").get_json()["vote"] == "down"
    assert len(votes(fake_app)) == 1 and votes(fake_app)[0][1] == -1  # one vote, changed
    assert feedback(client, image_id, api_key, vote="none").get_json()["vote"] == "none"
    assert votes(fake_app)[0][1] == 0


def test_an_admin_key_votes_on_anyones_image(fake_app, client, api_key, admin_key, image_id):
    feedback(client, image_id, api_key, vote="up")
    response = feedback(client, image_id, admin_key, vote="down")
    assert response.status_code == 200 and response.get_json()["vote"] == "down"
    assert sorted(v for _, v in votes(fake_app)) == [-1, 1]  # each requester's own vote


def test_other_keys_and_no_key_cannot_give_feedback(fake_app, client, make_key, image_id):
    other = feedback(client, image_id, make_key("someone-else"), vote="up")
    assert other.status_code == 404
    assert other.get_json()["error"]["message"] == f"No image with id {image_id}."
    report = {"reason": "rude"}
    assert feedback(client, image_id, make_key("third"), report=report).status_code == 404
    anonymous = client.post(f"/api/v1/images/{image_id}/feedback", json={"vote": "up"})
    assert anonymous.status_code == 401
    assert votes(fake_app) == []


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({}, "vote", "Send a 'vote'"),
        ({"vote": "sideways"}, "vote", "'vote' must be one of up, down, none."),
        ({"vote": 1}, "vote", "'vote' must be one of"),
        ({"vote": {}, "report": {"reason": "0"}}, "vote", "'vote' must be one of"),  # unhashable
        ({"report": {"reason": "x", "category": ["hate"]}}, "report", "'report.category'"),
        ({"stars": 5}, "stars", "Unknown field 'stars'."),
        ({"report": "ugly"}, "report", "'report' must be an object"),
        ({"report": {"reason": "  "}}, "report", "'report.reason' must be text of 1 to 500"),
        ({"report": {"reason": "x" * 501}}, "report", "'report.reason' must be text"),
        ({"report": {"reason": "x", "category": "ugly"}}, "report", "'report.category'"),
        ({"report": {"reason": "a\x00b"}}, "report.reason", "'report.reason' must not"),
    ],
)
def test_bad_feedback_is_a_clear_400(client, api_key, image_id, body, param, message):
    response = client.post(
        f"/api/v1/images/{image_id}/feedback", json=body, headers=bearer(api_key)
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["param"] == param and error["message"].startswith(message)


@pytest.mark.parametrize("image", ["0" * 36, "not-an-id", "00000000-0000-0000-0000-000000000000"])
def test_unknown_images_are_not_found(client, api_key, image):
    assert feedback(client, image, api_key, vote="up").status_code == 404


def test_a_report_lands_in_the_review_queue(fake_app, client, api_key, admin_key, image_id):
    reports = REGISTRY.get_sample_value(
        "safecanvas_user_reports_total", {"version": "fake-1", "category": "violence"}
    )
    report = {"reason": "It shows a weapon", "category": "violence"}
    response = feedback(client, image_id, api_key, vote="down", report=report)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["reported"] is True and answer["vote"] == "down"

    queue = client.get("/admin/api/refusals?stage=user_report", headers=bearer(admin_key))
    items = queue.get_json()["items"]
    assert len(items) == 1
    entry = items[0]
    assert entry["id"] == answer["report_id"]
    assert (entry["outcome"], entry["stage"], entry["reason"]) == (
        "reported",
        "user_report",
        "It shows a weapon",
    )
    assert entry["categories"] == ["violence"] and entry["image_id"] == image_id
    assert entry["prompt"] == "a square" and entry["model_version"] == "fake-1"
    assert entry["review_status"] == "unreviewed" and entry["requester"].startswith("key:")
    after = REGISTRY.get_sample_value(
        "safecanvas_user_reports_total", {"version": "fake-1", "category": "violence"}
    )
    assert after == (reports or 0) + 1

    again = feedback(client, image_id, api_key, report={"reason": "still bad"})
    assert again.status_code == 409 and "already" in again.get_json()["error"]["message"]
    path = f"/admin/api/refusals/{entry['id']}/review"
    reviewed = client.post(path, json={"status": "confirmed"}, headers=bearer(admin_key))
    assert reviewed.status_code == 200 and reviewed.get_json()["review_status"] == "confirmed"
    # The vote can still change after the report; the report stays.
    assert feedback(client, image_id, api_key, vote="up").get_json()["reported"] is True


def test_the_admin_review_page_shows_a_report(runner, client, api_key, image_id):
    feedback(client, image_id, api_key, report={"reason": "<b>offensive</b> text"})
    result = runner.invoke(args=["create-admin", "alice", "--password", "correct-horse"])
    assert result.exit_code == 0, result.output
    client.post("/admin/login", data={"username": "alice", "password": "correct-horse"})
    page = client.get("/admin/moderation?stage=user_report").get_data(as_text=True)
    assert "Reported:</strong> &lt;b&gt;offensive&lt;/b&gt; text" in page
    assert f'href="/images/{image_id}.png"' in page
    assert '<option value="user_report" selected>' in page
    assert client.get(f"/images/{image_id}.png").status_code == 200  # an admin sees the image
    exported = client.get("/admin/moderation.csv?stage=user_report").get_data(as_text=True)
    header, row = list(csv.reader(io.StringIO(exported)))
    entry = dict(zip(header, row, strict=True))
    assert (entry["stage"], entry["image_id"]) == ("user_report", image_id)
    assert entry["reason"] == "<b>offensive</b> text" and entry["outcome"] == "reported"


def test_the_answer_matches_the_openapi_schema(client, api_key, image_id):
    doc = client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/v1/images/{image_id}/feedback"]["post"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    answer = feedback(client, image_id, api_key, vote="up", report={"reason": "odd"}).get_json()
    jsonschema_rs.validate(dict(schema, components=doc["components"]), answer)
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert jsonschema_rs.is_valid(body, {"vote": "down"})
    assert not jsonschema_rs.is_valid(body, {})
