"""A real scale-out deployment on this machine: Celery GPU workers (on the CPU), web servers.

Every process is a real one: ``flask --app webapp worker`` processes with the embedded
model, gunicorn web servers, the local Redis or RabbitMQ broker, a fresh PostgreSQL database.
A unique queue name per cluster keeps parallel test runs on the same broker apart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import requests
from kombu import Connection

from tests.conftest import POSTGRES_URL, service_missing
from tests.e2e.conftest import BIN, ROOT, free_port, server_env, signal_group

BROKERS = {
    "redis": os.environ.get("SAFECANVAS_TEST_BROKER_REDIS", "redis://127.0.0.1:6379/14"),
    "rabbitmq": os.environ.get(
        "SAFECANVAS_TEST_BROKER_AMQP", "amqp://guest:guest@127.0.0.1:5672//"
    ),
}
WORKER_READY_S = 240


def require_broker(name: str) -> str:
    """The broker's URL; skip (fail under CI=true) when it does not answer."""
    url = BROKERS[name]
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        service_missing(f"{name} broker at {url}", exc)
    return url


def fresh_postgres() -> tuple[str, callable]:
    """A new PostgreSQL database and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"safecanvas_scale_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        service_missing(f"PostgreSQL at {POSTGRES_URL}", exc)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), drop


class Worker:
    """``flask --app webapp worker`` in its own process group, logging to a file."""

    def __init__(self, instance: Path, name: str, **env: str) -> None:
        self.instance, self.name, self.env = instance, name, env
        self.metrics_port = 0
        self.proc: subprocess.Popen | None = None
        self.log = instance / f"worker-{name}.log"

    def start(self) -> Worker:
        """Start and wait (bounded) until Celery says the worker is ready.

        Its metrics port, found free, may be taken meanwhile: then it starts again.
        """
        for attempt in range(3):
            try:
                return self._start_once()
            except RuntimeError as exc:
                if attempt == 2 or "Address already in use" not in str(exc):
                    raise
        raise AssertionError("unreachable")

    def _start_once(self) -> Worker:
        """One start with a fresh metrics port."""
        self.metrics_port = free_port()
        env = server_env(
            self.instance, SAFECANVAS_WORKER_METRICS=f"127.0.0.1:{self.metrics_port}", **self.env
        )
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "flask"), "--app", "webapp", "worker", "--name", f"{self.name}@test"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + WORKER_READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.tail()}")
            if re.search(r"@test ready\.", self.log.read_text()[offset:]):
                return self
            time.sleep(0.25)
        self.kill()
        raise RuntimeError(f"worker {self.name} not ready in {WORKER_READY_S}s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def metrics(self) -> str:
        """This worker's Prometheus text."""
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text

    def stop(self) -> None:
        """Warm shutdown: Celery lets the running jobs finish."""
        signal_group(self.proc, signal.SIGTERM, 60)

    def kill(self) -> None:
        """``kill -9``, as a crash or the OOM killer would."""
        signal_group(self.proc, signal.SIGKILL, 10)


def metric_value(text: str, name: str) -> float:
    """The sum of a metric's samples with this exact name (any labels)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def delete_queue(url: str, queue: str) -> None:
    """Remove the test's queue (and its exchange) from the broker."""
    from kombu import Exchange, Queue

    try:
        with Connection(url, connect_timeout=3) as conn:
            channel = conn.default_channel
            Queue(queue, Exchange(queue, type="direct"), routing_key=queue)(channel).delete()
            Exchange(queue, type="direct")(channel).delete()
    except Exception:  # best effort: the broker may be gone already
        pass
