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


def _healthz_by_pid(folder) -> dict[int, float]:
    """Requests to /healthz counted in each process's metrics file."""
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in folder.glob("histogram_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            # The files keep each bucket's own count; their sum is the request count.
            if '"health.healthz"' in key and '"safecanvas_http_request_seconds_bucket"' in key:
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


def test_gunicorn_workers_are_summed_in_one_scrape(tmp_path):
    """Prometheus multiprocess mode: whichever worker answers, /metrics counts them all."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    from tests.e2e.conftest import flask_cli, free_port, server_env

    flask_cli(tmp_path, "db", "upgrade")
    root, port, folder = Path(__file__).resolve().parents[2], free_port(), tmp_path / "prom"
    env = server_env(
        tmp_path,
        SAFECANVAS_LOAD_MODELS="off",
        SAFECANVAS_WORKERS="2",
        SAFECANVAS_THREADS="2",
        HOST="127.0.0.1",
        PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
    proc = subprocess.Popen(
        [*gunicorn, "--no-control-socket", "webapp:create_app()"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url, sent = f"http://127.0.0.1:{port}", 0
    try:
        deadline = time.monotonic() + 120
        while True:  # up: /readyz answers (another endpoint, so it is not counted below)
            assert time.monotonic() < deadline, "gunicorn did not start"
            try:
                requests.get(f"{url}/readyz", timeout=60)
                break
            except requests.RequestException:  # refused, or a worker still booting
                time.sleep(0.3)
        # New connections until both workers served; bounded by time, not by count: on a loaded
        # machine the second worker may still be importing the app after hundreds of requests.
        while len(_healthz_by_pid(folder)) < 2:
            assert time.monotonic() < deadline, _healthz_by_pid(folder)
            requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=60)
            sent += 1
        text = requests.get(f"{url}/metrics", timeout=60).text
        scraped = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith('safecanvas_http_request_seconds_count{endpoint="health.healthz"')
        )
        assert scraped == sent == sum(_healthz_by_pid(folder).values()), text[:3000]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
