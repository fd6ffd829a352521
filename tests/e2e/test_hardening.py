"""Findings of the security review that were about real HTTP, checked over real HTTP."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.e2e.conftest import flask_cli, running_server

FORGED = "2026-01-01 00:00:00,000 INFO safecanvas.request: GET /admin 200 1.0ms requester=-"


@pytest.fixture(scope="module")
def plain_server(instance):
    """gunicorn without models: enough for request parsing, limits and logs."""
    flask_cli(instance, "db", "upgrade")
    key = flask_cli(instance, "create-api-key", "e2e").strip().splitlines()[-1]
    with running_server(instance, wait_for="/healthz", SAFECANVAS_LOAD_MODELS="off") as srv:
        srv.key = key
        yield srv


def test_a_huge_declared_body_is_refused_before_it_is_sent(plain_server):
    head = (
        "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {plain_server.key}\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", plain_server.port), timeout=30) as sock:
        sock.sendall(head.encode() + b'{"prompt": "')
        answer = b""
        while b"request_too_large" not in answer:  # times out if the server waits for 100 MB
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_path_cannot_write_a_line_into_the_request_log(plain_server):
    path = "/api/v1/jobs/x%0a" + requests.utils.quote(FORGED)
    assert requests.get(plain_server.url(path), timeout=30).status_code == 404
    requests.get(plain_server.url("/healthz"), timeout=30)  # the line before is flushed by now
    log = plain_server.log_tail()
    assert "GET /api/v1/jobs/x\\n2026-01-01 00:00:00,000 INFO" in log
    assert FORGED not in log.splitlines()
