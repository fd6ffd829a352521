"""The app factory, health probes, request logging and JSON-vs-HTML errors.

``app`` is the app on the real (unloaded) models; ``client`` talks to ``fake_app``.
"""

from __future__ import annotations

import logging

from webapp import create_app


def test_factory_takes_a_test_config(app):
    assert app.testing
    assert app.config["SAFECANVAS_LOAD_MODELS"] == "off"


def test_factory_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SAFECANVAS_LOAD_MODELS", "off")
    monkeypatch.setenv("SAFECANVAS_QUEUE_MAX", "7")
    app = create_app()
    assert not app.testing
    assert app.config["SAFECANVAS_QUEUE_MAX"] == 7
    assert app.instance_path == str(tmp_path)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_503_until_loaded_and_names_components(app):
    response = app.test_client().get("/readyz")  # the real model and moderation, not loaded
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["components"]["model"] == "not loaded"
    assert any(key.startswith("moderation") for key in body["components"])


def test_api_404_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_admin_api_and_openai_paths_answer_json(client):
    for path in ("/admin/api/nothing", "/v1/nothing"):
        response = client.get(path)
        assert response.status_code == 404 and response.is_json


def test_html_404_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"SafeCanvas" in response.data


def test_unexpected_error_hides_the_stack_trace(app):
    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # let the error handler run instead of propagating
    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_one_log_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="safecanvas.request")
    client.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "safecanvas.request"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /healthz 200 ") and "ms requester=" in lines[0]
