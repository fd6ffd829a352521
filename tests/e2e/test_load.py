"""Load on the real server: 50 concurrent clients get only 2xx, 429 or 503 with Retry-After,
and the server's memory stays flat. The long variant is marked ``slow`` (not in make test)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Server, prepare_instance, running_server

CLIENTS = 50
PROMPT = {"prompt": "two green circles on a black background", "steps": 4}
ALLOWED = {200, 202, 429, 503}


def server_rss_mb(server: Server) -> float:
    """Resident memory of the server's whole process group (gunicorn master and worker)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != server.proc.pid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory):
    """A server with a small queue and a tight quota, so load meets both 503 and 429."""
    instance = tmp_path_factory.mktemp("load")
    keys = prepare_instance(instance)
    with running_server(
        instance,
        SAFECANVAS_QUEUE_MAX="6",
        SAFECANVAS_RATE_LIMIT="40/minute",
        SAFECANVAS_THREADS="16",
    ) as server:
        yield server, keys


def hammer(server: Server, key: str, seconds: float) -> tuple[Counter, list[str], list[float]]:
    """CLIENTS threads submit jobs, poll them and read health until the deadline."""
    statuses: Counter = Counter()
    problems: list[str] = []
    rss: list[float] = []
    deadline = time.monotonic() + seconds
    auth = {"Authorization": f"Bearer {key}"}

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            try:
                answer = session.post(
                    server.url("/api/v1/jobs"), json=PROMPT, headers=auth, timeout=30
                )
                check(answer)
                if answer.status_code == 202:
                    check(
                        session.get(
                            server.url(answer.json()["status_url"]), headers=auth, timeout=30
                        )
                    )
                check(session.get(server.url("/healthz"), timeout=30))
            except requests.RequestException as exc:
                where = f"{exc.request.method} {exc.request.url}" if exc.request else "?"
                problems.append(f"{type(exc).__name__} on {where}")
            time.sleep(0.05)

    def check(answer: requests.Response) -> None:
        statuses[answer.status_code] += 1
        if answer.status_code not in ALLOWED:
            problems.append(f"{answer.request.method} {answer.url} -> {answer.status_code}")
        elif answer.status_code in {429, 503} and not answer.headers.get("Retry-After"):
            problems.append(f"{answer.status_code} without Retry-After from {answer.url}")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        rss.append(server_rss_mb(server))
        time.sleep(1)
    for thread in threads:
        thread.join()
    return statuses, problems, rss


def assert_healthy_under_load(server: Server, keys: dict[str, str], seconds: float) -> None:
    """The shared assertions of the short and the long variant.

    The warm-up uses the other key: the quota is per key, and a warm-up that used up the
    measured key's quota (it did once moderation got faster) would leave no 202 to see.
    """
    hammer(server, keys["admin"], 5)  # warm-up: allocator pools, first batches, caches
    key = keys["user"]
    statuses, problems, rss = hammer(server, key, seconds)
    assert not problems, problems[:10]
    assert statuses[202] > 0, statuses
    assert statuses[429] + statuses[503] > 0, f"load never reached a limit: {statuses}"
    third = max(1, len(rss) // 3)
    early, late = statistics.median(rss[:third]), statistics.median(rss[-third:])
    assert late <= early * 1.15 + 64, f"server memory grew from {early:.0f} to {late:.0f} MB"


def test_fifty_clients_get_no_5xx_and_memory_stays_flat(loaded_server):
    server, keys = loaded_server
    assert_healthy_under_load(server, keys, seconds=15)


@pytest.mark.slow
def test_fifty_clients_for_three_minutes(loaded_server):
    server, keys = loaded_server
    assert_healthy_under_load(server, keys, seconds=180)
