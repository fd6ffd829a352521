"""API keys (CLI and Bearer auth), admin users and who may call the admin API."""

from __future__ import annotations

from sqlalchemy import select

from tests.webapp.helpers import bearer
from webapp.auth import hash_key, verify_password
from webapp.db import session_factory, session_scope
from webapp.models import ApiKey, User


def _create_key(runner, *args: str) -> str:
    result = runner.invoke(args=["create-api-key", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_create_api_key_prints_it_last_and_stores_only_its_hash(fake_app, runner):
    key = _create_key(runner, "ci-bot")
    assert key.startswith("sc_") and len(key) > 40
    with session_scope(session_factory(fake_app)) as session:
        row = session.scalar(select(ApiKey))
        assert row.name == "ci-bot" and not row.is_admin
        assert row.key_hash == hash_key(key) and key not in (row.prefix, row.key_hash)
    listing = runner.invoke(args=["list-api-keys"]).output
    assert "ci-bot" in listing and key not in listing


def test_requests_need_a_valid_unrevoked_key(runner, client):
    key = _create_key(runner, "user")
    body = {"prompt": "a square"}
    for headers in ({}, bearer("sc_wrong"), {"Authorization": f"Basic {key}"}):
        response = client.post("/api/v1/jobs", json=body, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_api_key"
    assert client.post("/api/v1/jobs", json=body, headers=bearer(key)).status_code == 202
    result = runner.invoke(args=["revoke-api-key", "1"])
    assert result.exit_code == 0 and "revoked key 1" in result.output
    assert client.post("/api/v1/jobs", json=body, headers=bearer(key)).status_code == 401
    assert runner.invoke(args=["revoke-api-key", "99"]).exit_code != 0


def test_admin_api_needs_an_admin_key(runner, client):
    user_key, admin_key = _create_key(runner, "user"), _create_key(runner, "ops", "--admin")
    assert client.get("/admin/api/refusals").status_code == 401
    assert client.get("/admin/api/refusals", headers=bearer(user_key)).status_code == 403
    response = client.get("/admin/api/refusals", headers=bearer(admin_key))
    assert response.status_code == 200 and response.get_json()["total"] == 0


def test_create_admin_with_password_or_prompt(fake_app, runner):
    result = runner.invoke(args=["create-admin", "alice", "--password", "s3cret-pass-phrase"])
    assert result.exit_code == 0, result.output
    prompted = runner.invoke(
        args=["create-admin", "bob"], input="typed-in-at-the-prompt\ntyped-in-at-the-prompt\n"
    )
    assert prompted.exit_code == 0, prompted.output
    short = runner.invoke(args=["create-admin", "carol", "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output
    with session_scope(session_factory(fake_app)) as session:
        alice = session.scalar(select(User).where(User.username == "alice"))
        bob = session.scalar(select(User).where(User.username == "bob"))
        assert alice.is_admin and verify_password(alice, "s3cret-pass-phrase")
        assert not verify_password(alice, "wrong") and verify_password(
            bob, "typed-in-at-the-prompt"
        )
        assert "s3cret-pass-phrase" not in alice.password_hash
    assert not verify_password(None, "anything")


def test_admin_session_may_use_the_admin_api(fake_app, runner, client):
    runner.invoke(args=["create-admin", "alice", "--password", "s3cret-pass-phrase"])
    with session_scope(session_factory(fake_app)) as db:
        session_id = db.scalar(select(User).where(User.username == "alice")).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    assert client.get("/admin/api/refusals").status_code == 200
    form = client.post(
        "/admin/api/refusals/1/review",
        data="status=confirmed",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 400  # cookies ride on cross-site forms; JSON only
