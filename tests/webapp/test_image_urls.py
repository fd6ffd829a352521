"""Image URLs and caching: nothing taken from the client's Host, nothing in shared caches."""

from __future__ import annotations

import pytest

from tests.webapp.helpers import bearer

EVIL = {"Host": "evil.example"}


def _sync_url(client, key: str, path: str = "/api/v1/images") -> str:
    response = client.post(path, json={"prompt": "a square"}, headers={**bearer(key), **EVIL})
    assert response.status_code == 200, response.json
    data = response.json
    return (data.get("images") or data.get("data"))[0]["url"]


@pytest.mark.parametrize("path", ["/api/v1/images", "/v1/images/generations"])
def test_image_urls_are_relative_without_a_public_url(client, api_key, path):
    url = _sync_url(client, api_key, path)
    assert url.startswith("/api/v1/images/") and "evil.example" not in url


@pytest.mark.app_config(SAFECANVAS_PUBLIC_URL="https://canvas.example.com")
@pytest.mark.parametrize("path", ["/api/v1/images", "/v1/images/generations"])
def test_image_urls_use_the_configured_public_url(client, api_key, path):
    url = _sync_url(client, api_key, path)
    assert url.startswith("https://canvas.example.com/api/v1/images/")


def test_images_that_need_a_key_are_never_publicly_cacheable(client, api_key):
    png = client.get(_sync_url(client, api_key), headers=bearer(api_key))
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.cache_control.private and not png.cache_control.public
