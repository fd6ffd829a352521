"""Who may use the admin area: sessions for the pages, keys for /admin/api, and CSRF."""

from __future__ import annotations

import re

import pytest

from safety.verdict import Verdict
from tests.webapp.helpers import bearer
from webapp.refusal_log import get_refusal_log

PASSWORD = "plum-orbit-cactus-41"


@pytest.fixture
def refusal_id(fake_app) -> int:
    """One refusal in the log."""
    verdict = Verdict(
        allowed=False, stage="blocklist", categories=("violence",), scores={"violence": 0.9}
    )
    with fake_app.app_context():
        return get_refusal_log().record(verdict, "a gory scene", "", "key:1", "api", "v1").id


def csrf_token(client, path: str = "/admin/login") -> str:
    """The CSRF token a page hands the browser."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def admin(runner, client):
    """A client logged in as an admin, with CSRF protection on."""
    assert runner.invoke(args=["create-admin", "alice", "--password", PASSWORD]).exit_code == 0
    data = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)}
    assert client.post("/admin/login", data=data).status_code == 302
    return client


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize("authorization", ["Bearer junk", "Bearer sc_not-a-real-key", "Basic eDp5"])
def test_a_header_that_authenticates_nothing_does_not_skip_csrf(admin, refusal_id, authorization):
    response = admin.post(
        f"/admin/api/refusals/{refusal_id}/review",
        json={"status": "false_positive"},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    listed = admin.get("/admin/api/refusals").json["items"]
    assert listed[0]["review_status"] == "unreviewed"


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_the_session_with_its_csrf_token_or_a_real_admin_key_may_review(
    admin, admin_key, refusal_id
):
    path = f"/admin/api/refusals/{refusal_id}/review"
    token = {"X-CSRFToken": csrf_token(admin, "/admin/moderation")}
    assert admin.post(path, json={"status": "confirmed"}, headers=token).status_code == 200
    by_key = admin.post(path, json={"status": "false_positive"}, headers=bearer(admin_key))
    assert by_key.status_code == 200 and by_key.json["review_status"] == "false_positive"


@pytest.mark.parametrize("path", ["/admin/moderation", "/admin/moderation.csv", "/admin/models"])
def test_admin_keys_do_not_open_the_admin_pages(client, admin_key, path):
    response = client.get(path, headers=bearer(admin_key))
    assert response.status_code == 403
    assert "/admin/api" in response.get_data(as_text=True)


def test_admin_keys_still_drive_the_admin_api(client, admin_key, refusal_id):
    response = client.get("/admin/api/refusals", headers=bearer(admin_key))
    assert response.status_code == 200 and response.json["total"] == 1
