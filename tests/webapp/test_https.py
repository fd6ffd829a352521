"""Served over HTTPS: Secure session cookies and HSTS, on when the public URL is https."""

from __future__ import annotations

import pytest

from webapp.config import Config, ConfigError

PUBLIC = "https://canvas.example.com"


@pytest.fixture
def login(runner, client):
    """Log an admin in; returns the login response (with its Set-Cookie)."""
    password = "correct-horse-battery"
    assert runner.invoke(args=["create-admin", "alice", "--password", password]).exit_code == 0
    return client.post("/admin/login", data={"username": "alice", "password": password})


@pytest.mark.parametrize(
    ("env", "https"),
    [
        ({}, False),
        ({"SAFECANVAS_PUBLIC_URL": PUBLIC}, True),
        ({"SAFECANVAS_PUBLIC_URL": "http://127.0.0.1:8000"}, False),
        ({"SAFECANVAS_PUBLIC_URL": PUBLIC, "SAFECANVAS_HTTPS": "false"}, False),
        ({"SAFECANVAS_HTTPS": "true"}, True),
        ({"SAFECANVAS_PUBLIC_URL": "", "SAFECANVAS_HTTPS": ""}, False),
    ],
)
def test_https_is_on_when_the_public_url_says_so(tmp_path, env, https):
    assert Config.from_env(env, str(tmp_path))["SAFECANVAS_HTTPS"] is https


@pytest.mark.parametrize("url", ["canvas.example.com", "ftp://x", "https://x/?a=1", "https://"])
def test_a_malformed_public_url_stops_start_up(tmp_path, url):
    with pytest.raises(ConfigError, match="SAFECANVAS_PUBLIC_URL"):
        Config.from_env({"SAFECANVAS_PUBLIC_URL": url}, str(tmp_path))


@pytest.mark.app_config(SAFECANVAS_PUBLIC_URL=PUBLIC, SAFECANVAS_HTTPS=True)
def test_over_https_the_session_cookie_is_secure_and_hsts_is_sent(login, client):
    assert login.status_code == 302
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert client.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_over_plain_http_neither_is_set(login, client):
    assert "Secure" not in login.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
