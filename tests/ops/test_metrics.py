"""/metrics: Prometheus text for loopback or token holders, with the request histogram."""

from __future__ import annotations

import pytest

from webapp import create_app
from webapp.config import test_config
from webapp.migrate import upgrade


def test_metrics_for_loopback_clients(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'safecanvas_http_request_seconds_count{endpoint="health.healthz"' in text
    for name in (
        "safecanvas_generation_seconds",
        "safecanvas_generation_step_seconds",
        "safecanvas_batch_requests",
        "safecanvas_queue_depth",
        "safecanvas_refusals_total",
        "safecanvas_moderation_seconds",
        "safecanvas_errors_total",
    ):
        assert f"# HELP {name}" in text


def test_metrics_refused_to_other_hosts_without_a_token(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert "metrics token" in response.get_data(as_text=True)


@pytest.fixture
def token_client(tmp_path):
    cfg = test_config(str(tmp_path), SAFECANVAS_METRICS_TOKEN="s3cret")
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    return create_app(cfg).test_client()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Bearer s3cret"}, 200),
    ],
)
def test_metrics_token(token_client, headers, status):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert token_client.get("/metrics", headers=headers, environ_base=remote).status_code == status
