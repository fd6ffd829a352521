"""Rate limits per key (memory and Redis), refusals not charged, and the probing cool-down."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import REDIS_URL, service_missing
from tests.webapp.api_fakes import bearer, make_app, make_key, wait_final


def _post(client, key, prompt="a square"):
    return client.post("/api/v1/jobs", json={"prompt": prompt}, headers=bearer(key))


def _assert_429(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "rate_limit_exceeded"


def test_rate_limit_is_per_key_with_retry_after(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SAFECANVAS_RATE_LIMIT="2/minute")
    client, key, other = app.test_client(), make_key(app), make_key(app, "other")
    assert [_post(client, key).status_code for _ in range(2)] == [202, 202]
    _assert_429(_post(client, key))
    assert _post(client, other).status_code == 202  # another key has its own quota
    openai = client.post("/v1/images/generations", json={"prompt": "x"}, headers=bearer(key))
    _assert_429(openai)


def test_refusals_and_bad_input_are_not_charged(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SAFECANVAS_RATE_LIMIT="2/minute")
    client, key = app.test_client(), make_key(app)
    for _ in range(3):
        assert _post(client, key, "forbidden act").status_code == 400
        assert client.post("/api/v1/jobs", json={}, headers=bearer(key)).status_code == 400
    assert [_post(client, key).status_code for _ in range(2)] == [202, 202]


def test_many_refusals_start_a_cool_down(tmp_path, monkeypatch):
    app = make_app(
        tmp_path,
        monkeypatch,
        SAFECANVAS_REFUSAL_LIMIT="3/minute",
        SAFECANVAS_REFUSAL_COOLDOWN_S=120,
    )
    client, key, other = app.test_client(), make_key(app), make_key(app, "other")
    assert [_post(client, key, "forbidden").status_code for _ in range(3)] == [400] * 3
    response = _post(client, key)  # even a harmless prompt waits out the cool-down
    _assert_429(response)
    assert 60 < int(response.headers["Retry-After"]) <= 120
    assert _post(client, other).status_code == 202


def test_image_refusals_count_towards_the_cool_down(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SAFECANVAS_REFUSAL_LIMIT="2/minute")
    client, key = app.test_client(), make_key(app)
    for _ in range(2):
        job = _post(client, key, "red-flag").get_json()
        assert wait_final(client, job["id"], key)["status"] == "refused"
    _assert_429(_post(client, key))


def test_rate_limit_in_redis(tmp_path, monkeypatch):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # no server on this machine
        service_missing(f"Redis at {REDIS_URL}", exc)
    prefix = f"sc-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        tmp_path,
        monkeypatch,
        SAFECANVAS_RATE_LIMIT="2/minute",
        SAFECANVAS_RATE_LIMIT_STORAGE=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
    )
    client, key = app.test_client(), make_key(app)
    assert [_post(client, key).status_code for _ in range(2)] == [202, 202]
    _assert_429(_post(client, key))
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")
    assert keys, "the limiter wrote nothing to Redis"


def test_a_rate_limit_storage_outage_is_not_a_500(tmp_path, monkeypatch):
    app = make_app(
        tmp_path,
        monkeypatch,
        SAFECANVAS_RATE_LIMIT="2/minute",
        SAFECANVAS_RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0",  # nothing listens there
    )
    client, key = app.test_client(), make_key(app)
    assert _post(client, key).status_code == 202
    assert _post(client, key, "forbidden").status_code == 400


def test_served_responses_carry_no_retry_after(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SAFECANVAS_RATE_LIMIT="5/minute")
    client, key = app.test_client(), make_key(app)
    response = _post(client, key)
    assert response.status_code == 202 and "Retry-After" not in response.headers
