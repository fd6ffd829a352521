"""SAFECANVAS_LOG_FORMAT=json under the real gunicorn: every line it writes is a JSON object.

gunicorn's own lines (gunicorn.conf.py) and the app's, with each request's X-Request-ID.
"""

from __future__ import annotations

import json

import requests

from tests.e2e.conftest import flask_cli, running_server


def test_gunicorn_and_the_app_write_json_lines_with_request_ids(tmp_path):
    flask_cli(tmp_path, "db", "upgrade")
    env = {"SAFECANVAS_LOAD_MODELS": "off", "SAFECANVAS_LOG_FORMAT": "json"}
    with running_server(tmp_path, wait_for="/healthz", **env) as srv:
        ok = requests.get(srv.url("/healthz"), headers={"X-Request-ID": "e2e-json-1"}, timeout=5)
        odd = requests.get(srv.url("/nope%0a{}"), headers={"X-Request-ID": "two words"}, timeout=5)
    assert ok.headers["X-Request-ID"] == "e2e-json-1"
    fresh = odd.headers["X-Request-ID"]
    assert odd.status_code == 404 and fresh != "two words"
    log = srv.log_path().read_text()  # written to the end: it stopped
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.error", "safecanvas.request"} <= loggers
    requests_logged = {r["request_id"]: r for r in records if r["logger"] == "safecanvas.request"}
    assert requests_logged["e2e-json-1"]["path"] == "/healthz"
    assert requests_logged[fresh]["status"] == 404 and requests_logged[fresh]["path"] == "/nope\n{}"
