"""Request ids: accepted or made per request, echoed, kept with the job, in every log line.

The log tests read what the app's own stderr handler wrote (text or JSON) for real requests,
including the lines of the in-process generation worker's thread.
"""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from sqlalchemy import select

from tests.webapp.helpers import bearer
from webapp.db import session_factory, session_scope
from webapp.models import Job

RID = "client-7f3a.retry:2"


@pytest.fixture
def stderr(monkeypatch) -> io.StringIO:
    """What the app logs: a root logger without handlers gets the app's own stderr handler.

    Request it before ``client``, so that the app is built after it.
    """
    out = io.StringIO()
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(sys, "stderr", out)
    return out


def _job_row(app, job_id: str) -> Job:
    with session_scope(session_factory(app)) as session:
        return session.scalars(select(Job).where(Job.id == job_id)).one()


def test_a_supplied_request_id_is_echoed_and_kept_with_its_job(client, fake_app, api_key):
    auth = bearer(api_key) | {"X-Request-ID": RID}
    answer = client.post("/api/v1/images", json={"prompt": "a square"}, headers=auth)
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == RID
    assert _job_row(fake_app, answer.get_json()["id"]).request_id == RID
    view = client.get(f"/api/v1/jobs/{answer.get_json()['id']}", headers=bearer(api_key))
    assert view.get_json()["request_id"] == RID
    assert view.headers["X-Request-ID"] not in (RID, "")  # that request had its own


@pytest.mark.parametrize(
    "sent",
    ["", "a" * 129, "has space", "<script>", "semi;colon", "ünïcode", 'quote"d', "tab\there"],
)
def test_a_malformed_or_oversized_request_id_is_replaced(client, fake_app, api_key, sent):
    auth = bearer(api_key) | {"X-Request-ID": sent}
    answer = client.post("/api/v1/jobs", json={"prompt": "a square"}, headers=auth)
    assert answer.status_code == 202
    fresh = answer.headers["X-Request-ID"]
    assert fresh != sent and len(fresh) == 32 and int(fresh, 16) >= 0
    assert _job_row(fake_app, answer.get_json()["id"]).request_id == fresh


def test_the_longest_accepted_id_is_kept_whole(client, api_key):
    longest = "A1-_.:+=/" * 14 + "xy"
    assert len(longest) == 128
    answer = client.get("/healthz", headers={"X-Request-ID": longest})
    assert answer.headers["X-Request-ID"] == longest


def test_requests_without_one_get_fresh_ids_even_errors(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    missing = client.get("/api/v1/jobs/nope")  # 401 in the JSON error shape
    assert missing.status_code == 401 and missing.headers["X-Request-ID"] not in ids
    assert len(ids) == 3


@pytest.mark.app_config(SAFECANVAS_LOG_FORMAT="json")
def test_json_log_lines_parse_and_carry_the_request_id(stderr, client, api_key, fake_generator):
    auth = bearer(api_key) | {"X-Request-ID": RID}
    done = client.post("/api/v1/images", json={"prompt": "a square"}, headers=auth).get_json()
    fake_generator.generate_batch = _crash  # a traceback, logged by the worker thread
    failed = client.post("/api/v1/images", json={"prompt": "x"}, headers=auth)
    assert failed.status_code == 503 and failed.headers["X-Request-ID"] == RID
    client.get("/healthz", headers={"X-Request-ID": "probe-1"})

    lines = stderr.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    ours = [r for r in records if r.get("request_id") == RID]
    loggers = {r["logger"] for r in ours}
    assert {"safecanvas.request", "webapp.generation_service", "webapp.jobs.runner"} <= loggers
    worker = [r for r in ours if r["logger"] == "webapp.jobs.runner"]
    assert {r["job_id"] for r in worker} == {done["id"], _failed_job_id(ours)}
    assert any(r["message"].startswith(f"job {done['id']} succeeded") for r in worker)
    crash = next(r for r in worker if "exc_info" in r)
    assert "RuntimeError: pipeline broke" in crash["exc_info"]
    request_line = next(r for r in ours if r["logger"] == "safecanvas.request")
    assert request_line["status"] == 200 and request_line["path"] == "/api/v1/images"
    assert [r["request_id"] for r in records if r.get("path") == "/healthz"] == ["probe-1"]


def _crash(reqs, progress=None, should_cancel=None):
    raise RuntimeError("pipeline broke\nacross lines")


def _failed_job_id(records: list[dict]) -> str:
    queued = [r["message"].split()[1] for r in records if r["message"].endswith("allow)")]
    return queued[-1]


def test_text_log_lines_show_the_request_id(stderr, client, api_key):
    auth = bearer(api_key) | {"X-Request-ID": RID}
    done = client.post("/api/v1/images", json={"prompt": "a square"}, headers=auth).get_json()
    client.get("/healthz")
    lines = stderr.getvalue().splitlines()
    about_job = [line for line in lines if f"job {done['id']}" in line]
    assert len(about_job) >= 3  # queued (web), running and succeeded (worker thread)
    assert all(f" [{RID}]: " in line for line in about_job)
    assert any(f"[{RID}]: POST /api/v1/images 200" in line for line in lines)
    assert any(" [-]: " not in line and "GET /healthz 200" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_a_signed_image_url_is_logged_without_its_token(stderr, client, api_key):
    body = {"prompt": "a square", "response_format": "url"}
    answer = client.post("/v1/images/generations", json=body, headers=bearer(api_key))
    url = answer.get_json()["data"][0]["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".png")
    assert client.get(url).status_code == 200
    assert client.get(url.replace(token, "x" + token[1:])).status_code == 403
    logged = stderr.getvalue()
    assert token not in logged and token[1:] not in logged  # the URL would open the image
    assert logged.count("GET /api/v1/images/signed/<token>.png ") == 2
