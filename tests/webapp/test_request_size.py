"""The request-size limit: 413 in the route's error shape before the body is read."""

from __future__ import annotations

import pytest

from tests.webapp.helpers import bearer

TOO_BIG = b"x" * (1024 * 1024 + 1)
JSON_ROUTES = [
    ("post", "/api/v1/jobs"),
    ("post", "/api/v1/images"),
    ("post", "/v1/images/generations"),
    ("post", "/admin/api/refusals/1/review"),
    ("delete", "/api/v1/jobs/00000000-0000-0000-0000-000000000000"),
]
HTML_ROUTES = ["/jobs", "/admin/login", "/admin/logout", "/admin/models/activate"]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_api_routes_answer_413_json(client, admin_key, method, path):
    response = getattr(client, method)(
        path, data=TOO_BIG, content_type="application/json", headers=bearer(admin_key)
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_too_large"
    assert str(1024 * 1024) in response.json["error"]["message"]


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize("path", HTML_ROUTES)
def test_browser_forms_answer_413_before_the_csrf_check(client, path):
    response = client.post(path, data={"prompt": TOO_BIG.decode()})
    assert response.status_code == 413
    assert response.mimetype == "text/html"


def test_a_body_on_a_route_that_never_reads_one_is_refused_too(client):
    assert client.get("/healthz", data=TOO_BIG).status_code == 413


def test_a_body_at_the_limit_is_read(client, api_key):
    head = b'{"prompt": "a red circle"'
    body = head + b" " * (1024 * 1024 - len(head) - 1) + b"}"  # exactly 1 MiB of JSON
    response = client.post(
        "/api/v1/jobs", data=body, content_type="application/json", headers=bearer(api_key)
    )
    assert response.status_code == 202
