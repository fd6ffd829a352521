"""Slow clients against gunicorn alone and behind the shipped nginx site (docker/nginx/)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import requests

from tests.e2e.conftest import flask_cli, running_server
from tests.e2e.nginx import nginx_binary, running_proxy

THREADS = 4  # few request threads, so a handful of slow clients would take them all
# A stalled server never answers, so the probe that must fail waits only this long; a probe
# that must pass gets far longer, as a loaded machine can take seconds over any request.
STALLED_PROBE_S = 2.0
PROBE_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def app_server(instance):
    """gunicorn on a free port with few threads; no models needed to answer /healthz."""
    flask_cli(instance, "db", "upgrade")
    with running_server(
        instance,
        wait_for="/healthz",
        SAFECANVAS_LOAD_MODELS="off",
        SAFECANVAS_THREADS=str(THREADS),
        SAFECANVAS_TRUSTED_PROXIES="1",
    ) as srv:
        yield srv


@contextmanager
def slow_clients(port: int, headers: int, bodies: int) -> Iterator[None]:
    """Clients that start a request and stall: mid-headers, or mid-body after full headers."""
    with ExitStack() as stack:
        for i in range(headers + bodies):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            if i < headers:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: 1\r\n")
            else:
                sock.sendall(
                    b"POST /api/v1/jobs HTTP/1.1\r\nHost: slow\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
                )
        time.sleep(0.5)  # let the server pick them all up
        yield


def healthz_answers(url: str, tries: int = 3, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether /healthz answers 200 within ``timeout`` seconds, every time."""
    for _ in range(tries):
        try:
            response = requests.get(url, timeout=timeout)
        except requests.RequestException:
            return False
        if response.status_code != 200:
            return False
    return True


def test_without_a_proxy_slow_clients_take_every_gunicorn_thread(app_server):
    # Why production needs the proxy: gunicorn reads headers and bodies on its threads.
    with slow_clients(app_server.port, headers=THREADS, bodies=THREADS):
        assert not healthz_answers(app_server.url("/healthz"), tries=1, timeout=STALLED_PROBE_S)
    assert healthz_answers(app_server.url("/healthz"))  # they are gone: threads are free


def test_behind_the_proxy_slow_clients_do_not_stall_the_app(app_server, tmp_path):
    nginx_binary()
    with running_proxy(tmp_path, "http", app_server.port) as ports:
        with slow_clients(ports[80], headers=20, bodies=20):
            assert healthz_answers(f"http://127.0.0.1:{ports[80]}/healthz", tries=5)
            assert healthz_answers(app_server.url("/healthz"))  # the app itself is idle


def test_the_proxy_refuses_bodies_over_one_mib(app_server, tmp_path):
    with running_proxy(tmp_path, "http", app_server.port) as ports:
        body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
        response = requests.post(f"http://127.0.0.1:{ports[80]}/api/v1/jobs", data=body, timeout=30)
    assert response.status_code == 413


def test_the_access_log_keeps_no_signed_image_token(app_server, tmp_path):
    token = "eyJpZCI6ImFiYyJ9.ZzZzZw.c2lnbmF0dXJlLXRoYXQtb3BlbnMtdGhlLWltYWdl"
    with running_proxy(tmp_path, "http", app_server.port) as ports:
        base = f"http://127.0.0.1:{ports[80]}"
        refused = requests.get(f"{base}/api/v1/images/signed/{token}.png", timeout=30)
        assert requests.get(f"{base}/healthz?probe=1", timeout=30).status_code == 200
    assert refused.status_code == 403  # reached the app, which checked the (made-up) token
    lines = (tmp_path / "access.log").read_text().splitlines()  # complete once nginx stopped
    assert token not in "\n".join(lines)
    signed = [line for line in lines if "/api/v1/images/signed/" in line]
    assert len(signed) == 1 and '"GET /api/v1/images/signed/<token>.png HTTP/1.1" 403' in signed[0]
    assert "rid=" + refused.headers["X-Request-ID"] in signed[0]  # ties it to the app's line
    assert any('"GET /healthz?probe=1 HTTP/1.1" 200' in line for line in lines)


def test_the_https_site_redirects_plain_http_and_serves_tls(app_server, tmp_path):
    with running_proxy(tmp_path, "https", app_server.port) as ports:
        plain = requests.get(
            f"http://127.0.0.1:{ports[80]}/healthz", allow_redirects=False, timeout=30
        )
        secure = requests.get(f"https://127.0.0.1:{ports[443]}/healthz", verify=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    assert secure.status_code == 200 and secure.json() == {"status": "ok"}


def test_gunicorn_bounds_the_request_headers(app_server):
    headers = {f"X-Field-{i}": "x" for i in range(60)}
    response = requests.get(app_server.url("/healthz"), headers=headers, timeout=30)
    assert response.status_code == 431  # Request Header Fields Too Large
