"""kill -9 of the server mid-generation, then a restart on the same instance folder."""

from __future__ import annotations

import time

import requests

from tests.e2e.conftest import Server

UNSAFE = "a gory green square on a white background"
FINAL = {"succeeded", "refused", "failed", "cancelled"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _view(server, key, job_id) -> dict:
    response = requests.get(server.url(f"/api/v1/jobs/{job_id}"), headers=_auth(key), timeout=10)
    return response.json()


def test_restart_leaves_no_job_stuck_and_keeps_refusals(instance, keys):
    server = Server(instance)
    server.start()
    try:
        doc = requests.get(server.url("/api/openapi.json"), timeout=10).json()
        props = doc["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]
        props = props["application/json"]["schema"]["properties"]
        auth = _auth(keys["user"])
        refused = requests.post(
            server.url("/api/v1/jobs"), json={"prompt": UNSAFE}, headers=auth, timeout=30
        )
        assert refused.status_code == 400
        long = {
            "prompt": "three blue squares on a yellow background",
            "n": props["n"]["maximum"],
            "steps": props["steps"]["maximum"],
        }
        ids = [
            requests.post(server.url("/api/v1/jobs"), json=long, headers=auth, timeout=30).json()[
                "id"
            ]
            for _ in range(3)
        ]
        deadline = time.monotonic() + 60
        while _view(server, keys["user"], ids[0])["status"] == "queued":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.1)
    finally:
        server.kill()

    server.start()  # same instance folder, same database
    try:
        views = [_view(server, keys["user"], job_id) for job_id in ids]
        assert all(v["status"] in FINAL for v in views), views
        interrupted = [v for v in views if v["status"] == "failed"]
        assert interrupted, "every job finished before the kill; nothing was interrupted"
        assert all(v["error"]["code"] == "interrupted" for v in interrupted)
        log = requests.get(
            server.url("/admin/api/refusals"), headers=_auth(keys["admin"]), timeout=10
        ).json()
        assert [item["prompt"] for item in log["items"]] == [UNSAFE]
    finally:
        server.stop()
