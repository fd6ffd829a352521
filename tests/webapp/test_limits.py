"""Rate limits per key (memory and Redis), refusals not charged, and the probing cool-down."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import REDIS_URL, service_missing
from tests.webapp.helpers import bearer, wait_final


def _post(client, key, prompt="a square"):
    return client.post("/api/v1/jobs", json={"prompt": prompt}, headers=bearer(key))


def _assert_429(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.app_config(SAFECANVAS_RATE_LIMIT="2/minute")
def test_rate_limit_is_per_key_with_retry_after(client, api_key, make_key):
    other = make_key("other")
    assert [_post(client, api_key).status_code for _ in range(2)] == [202, 202]
    _assert_429(_post(client, api_key))
    assert _post(client, other).status_code == 202  # another key has its own quota
    openai = client.post("/v1/images/generations", json={"prompt": "x"}, headers=bearer(api_key))
    _assert_429(openai)


@pytest.mark.app_config(SAFECANVAS_RATE_LIMIT="2/minute")
def test_refusals_and_bad_input_are_not_charged(client, api_key):
    for _ in range(3):
        assert _post(client, api_key, "forbidden act").status_code == 400
        assert client.post("/api/v1/jobs", json={}, headers=bearer(api_key)).status_code == 400
    assert [_post(client, api_key).status_code for _ in range(2)] == [202, 202]


@pytest.mark.app_config(SAFECANVAS_REFUSAL_LIMIT="3/minute", SAFECANVAS_REFUSAL_COOLDOWN_S=120)
def test_many_refusals_start_a_cool_down(client, api_key, make_key):
    other = make_key("other")
    assert [_post(client, api_key, "forbidden").status_code for _ in range(3)] == [400] * 3
    response = _post(client, api_key)  # even a harmless prompt waits out the cool-down
    _assert_429(response)
    assert 60 < int(response.headers["Retry-After"]) <= 120
    assert _post(client, other).status_code == 202


@pytest.mark.app_config(SAFECANVAS_REFUSAL_LIMIT="2/minute")
def test_image_refusals_count_towards_the_cool_down(client, api_key):
    for _ in range(2):
        job = _post(client, api_key, "red-flag").get_json()
        assert wait_final(client, job["id"], api_key)["status"] == "refused"
    _assert_429(_post(client, api_key))


@pytest.fixture
def redis():
    """A client of the local Redis (skipped where none runs, a failure in CI)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # no server on this machine
        service_missing(f"Redis at {REDIS_URL}", exc)
    return client


REDIS_PREFIX = f"sc-test-{uuid.uuid4().hex[:8]}"


@pytest.mark.app_config(
    SAFECANVAS_RATE_LIMIT="2/minute",
    SAFECANVAS_RATE_LIMIT_STORAGE=REDIS_URL,
    RATELIMIT_KEY_PREFIX=REDIS_PREFIX,
)
def test_rate_limit_in_redis(redis, client, api_key):
    assert [_post(client, api_key).status_code for _ in range(2)] == [202, 202]
    _assert_429(_post(client, api_key))
    assert redis.keys(f"*{REDIS_PREFIX}*"), "the limiter wrote nothing to Redis"


@pytest.mark.app_config(
    SAFECANVAS_RATE_LIMIT="2/minute",
    SAFECANVAS_RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0",  # nothing listens there
)
def test_a_rate_limit_storage_outage_is_not_a_500(client, api_key):
    assert _post(client, api_key).status_code == 202
    assert _post(client, api_key, "forbidden").status_code == 400


@pytest.mark.app_config(SAFECANVAS_RATE_LIMIT="5/minute")
def test_served_responses_carry_no_retry_after(client, api_key):
    response = _post(client, api_key)
    assert response.status_code == 202 and "Retry-After" not in response.headers
