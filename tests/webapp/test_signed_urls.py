"""Signed image URLs (no key, expiring, tamper-proof) and the OpenAI model list, on the fakes."""

from __future__ import annotations

import time

import pytest

from tests.webapp.helpers import bearer


def _openai_url(client, api_key) -> str:
    """The URL the OpenAI-compatible endpoint answers for one image."""
    body = {"prompt": "a square", "response_format": "url"}
    response = client.post("/v1/images/generations", json=body, headers=bearer(api_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"][0]["url"]


def _flip(token: str, index: int) -> str:
    """The token with the character at ``index`` replaced by another base64url character."""
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


def test_signed_url_needs_no_key(client, api_key):
    url = _openai_url(client, api_key)
    assert url.startswith("/api/v1/images/signed/")  # relative: no SAFECANVAS_PUBLIC_URL
    response = client.get(url)  # no Authorization header
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    cache = response.cache_control
    assert cache.private and not cache.public and 3590 <= cache.max_age <= 3600


def test_the_native_api_gives_both_urls(client, api_key):
    body = {"prompt": "a square"}
    image = client.post("/api/v1/images", json=body, headers=bearer(api_key)).get_json()
    image = image["images"][0]
    assert client.get(image["url"]).status_code == 401  # the keyed route stays keyed
    assert client.get(image["url"], headers=bearer(api_key)).status_code == 200
    assert client.get(image["signed_url"]).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        # The signature's first character: all six of its bits are data (the last one's may be
        # base64 padding bits, which some decoders ignore, so flipping it can change nothing).
        lambda token: _flip(token, len(token.rsplit(".", 1)[0]) + 1),
        lambda token: "x" + token[1:],  # the signed image id
        lambda token: token.rsplit(".", 1)[0],  # no signature at all
    ],
)
def test_tampered_url_is_403(client, api_key, tamper):
    url = _openai_url(client, api_key)
    prefix, token = url.removesuffix(".png").rsplit("/", 1)
    response = client.get(f"{prefix}/{tamper(token)}.png")
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "This image URL is not valid."


def test_a_token_signed_with_another_secret_is_403(fake_app, client, api_key):
    url = _openai_url(client, api_key)
    fake_app.secret_key = "another-secret"
    assert client.get(url).status_code == 403


@pytest.mark.app_config(SAFECANVAS_IMAGE_URL_TTL_S=1)
def test_expired_url_is_403(client, api_key):
    url = _openai_url(client, api_key)
    assert client.get(url).status_code == 200
    time.sleep(2.1)  # itsdangerous counts whole seconds: at least 2 later, past 1 s
    response = client.get(url)
    assert response.status_code == 403 and "expired" in response.get_json()["error"]["message"]


def test_models_list_the_servable_versions(client, api_key, fake_generator):
    fake_generator.version_names.append("fake-style")
    assert client.get("/v1/models").status_code == 401
    body = client.get("/v1/models", headers=bearer(api_key)).get_json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["fake-1", "fake-style"]  # the active one first
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in body["data"])


@pytest.mark.parametrize("token", ["%ff", "%00", "a.b.c", "x" * 500, "%F0%9F%98%80"])
def test_garbage_tokens_are_403(client, token):
    response = client.get(f"/api/v1/images/signed/{token}.png")
    assert response.status_code == 403 and response.is_json
