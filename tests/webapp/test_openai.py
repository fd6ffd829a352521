"""/v1/images/generations shapes on the fakes (the openai client itself runs in tests/e2e)."""

from __future__ import annotations

import base64

import pytest

from tests.webapp.helpers import bearer


def _generate(client, api_key, **body):
    return client.post("/v1/images/generations", json=body, headers=bearer(api_key))


def test_b64_json_and_url_responses(client, api_key):
    body = _generate(
        client,
        api_key,
        prompt="a square",
        n=2,
        size="32x32",
        response_format="b64_json",
        user="u-1",
        seed=3,
    ).get_json()
    assert set(body) == {"created", "data", "moderation"} and len(body["data"]) == 2
    assert body["moderation"] == {"action": "allow", "categories": []}
    assert base64.b64decode(body["data"][0]["b64_json"]).startswith(b"\x89PNG")
    url = _generate(client, api_key, prompt="a square").get_json()["data"][0]["url"]
    # Relative without SAFECANVAS_PUBLIC_URL (tests/webapp/test_image_urls.py has both cases).
    assert url.startswith("/api/v1/images/")
    assert client.get(url, headers=bearer(api_key)).status_code == 200


def test_openai_model_names_mean_the_active_model(client, api_key):
    assert _generate(client, api_key, prompt="x", model="dall-e-3", quality="hd").status_code == 200
    assert _generate(client, api_key, prompt="x", model="no-such").status_code == 400


def test_refusal_is_an_openai_shaped_error(client, api_key):
    response = _generate(client, api_key, prompt="forbidden")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "content_policy_violation" and error["param"] == "prompt"
    assert error["type"] == "invalid_request_error" and error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x", "size": "abc"}, "size"),
        ({"prompt": "x", "n": 0}, "n"),
        ({"prompt": "x", "response_format": "png"}, "response_format"),
        ({"prompt": "x", "user": 5}, "user"),
        ({"prompt": "x", "mask": "m"}, "mask"),
    ],
)
def test_bad_input(client, api_key, body, param):
    response = client.post("/v1/images/generations", json=body, headers=bearer(api_key))
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param


def test_missing_key_is_401_openai_shaped(client):
    response = client.post("/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"
