"""Odd input to the admin pages is a 4xx with a message, never a 500."""

from __future__ import annotations

import html

import pytest

from tests.webapp.helpers import bearer

PASSWORD = "plum-orbit-cactus-41"


@pytest.fixture
def admin(runner, client):
    """A logged-in admin's client."""
    assert runner.invoke(args=["create-admin", "alice", "--password", PASSWORD]).exit_code == 0
    assert client.post("/admin/login", data={"username": "alice", "password": PASSWORD}).status_code
    return client


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/admin/moderation?page=12345678901234567890123", "page"),
        ("/admin/moderation?page=" + "9" * 5000, "page"),
        ("/admin/moderation?page=0", "page"),
        ("/admin/moderation?page=two", "page"),
        ("/admin/moderation?until=9999-12-31", "until"),
        ("/admin/moderation.csv?until=9999-12-31", "until"),
        ("/admin/api/refusals?page=" + "9" * 5000, "page"),
    ],
)
def test_odd_queries_are_400_naming_the_argument(admin, path, param):
    response = admin.get(path)
    assert response.status_code == 400
    assert f"'{param}'" in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "target", ["/\r\nX-Injected: y", "/admin\nmoderation", "/\\evil.example", "/\\/evil.example"]
)
def test_login_with_a_crafted_next_goes_home(runner, client, target):
    runner.invoke(args=["create-admin", "alice", "--password", PASSWORD])
    data = {"username": "alice", "password": PASSWORD, "next": target}
    response = client.post("/admin/login", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/moderation"
    assert "X-Injected" not in response.headers


def test_the_review_form_sent_with_an_admin_key_is_refused(client, admin_key):
    response = client.post(
        "/admin/moderation/1/review", data={"status": "confirmed"}, headers=bearer(admin_key)
    )
    assert response.status_code == 403
