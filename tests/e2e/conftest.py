"""A real server for e2e tests: gunicorn on a free loopback port, real model and moderation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 240


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance: Path, **extra: str) -> dict[str, str]:
    """Environment for the server and the CLI: one instance folder, generous limits."""
    # Inherit the model choice, never another database, image folder or limit storage.
    keep = {"SAFECANVAS_MODEL", "SAFECANVAS_MODEL_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECANVAS_") or k in keep}
    env.update(
        {
            "SAFECANVAS_INSTANCE_PATH": str(instance),
            "SAFECANVAS_SECRET_KEY": "e2e-secret",
            "SAFECANVAS_RATE_LIMIT": "1000/minute",
            "SAFECANVAS_REFUSAL_LIMIT": "1000/minute",
            "SAFECANVAS_LOG_LEVEL": "INFO",
            "SAFECANVAS_WORKERS": "1",
            "SAFECANVAS_THREADS": "8",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    )
    env.update(extra)
    return env


def flask_cli(instance: Path, *args: str) -> str:
    """Run ``flask --app webapp ARGS`` for the instance; its stdout."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", *args],
        cwd=ROOT,
        env=server_env(instance, SAFECANVAS_LOAD_MODELS="off"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Server:
    """gunicorn serving ``webapp:create_app()`` in its own process group."""

    def __init__(
        self, instance: Path, wait_for: str = "/readyz", cwd: Path = ROOT, **env: str
    ) -> None:
        self.instance = instance
        self.wait_for = wait_for  # /readyz (model and moderation loaded) or /healthz
        self.cwd = cwd  # another working directory must not change what the server finds
        self.env = env  # extra SAFECANVAS_* settings for this server
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Start and wait (bounded) until ``wait_for`` answers 200.

        A port found free can be taken before gunicorn binds it (outgoing connections use
        the same range): then it starts again on another port.
        """
        for attempt in range(3):
            try:
                return self._start_once()
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self.log_path().read_text():
                    raise

    def _start_once(self) -> None:
        """One start on a fresh port."""
        self.port = free_port()
        log = open(self.log_path(), "w")  # noqa: SIM115
        env = server_env(self.instance, HOST="127.0.0.1", PORT=str(self.port), **self.env)
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--pythonpath",
                str(ROOT),
                "--no-control-socket",  # the default path is shared by every gunicorn here
                "webapp:create_app()",
            ],
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                ready = requests.get(self.url(self.wait_for), timeout=2)
            except requests.RequestException:
                ready = None
            if ready is not None and ready.status_code == 200:
                return
            if ready is not None and "error:" in ready.text:  # e.g. no model shipped yet
                self.kill()
                raise RuntimeError(f"server cannot get ready: {ready.text}")
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(f"server not ready in {READY_TIMEOUT_S}s: {self.log_tail()}")

    def log_path(self) -> Path:
        """This start's log (a retry on another port, or a restart, writes a new one)."""
        return self.instance / f"server-{self.port}.log"

    def log_tail(self) -> str:
        log = self.log_path()
        return log.read_text()[-3000:] if log.exists() else ""

    def stop(self) -> None:
        """Graceful stop, then a hard one if it lingers."""
        signal_group(self.proc, signal.SIGTERM, 30)

    def kill(self) -> None:
        """``kill -9`` of the whole server (master and worker), as a crash would."""
        signal_group(self.proc, signal.SIGKILL, 10)


def signal_group(proc: subprocess.Popen | None, sig: int, wait_s: float) -> None:
    """Send ``sig`` to a child's process group; SIGKILL it if it outlives ``wait_s``."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def prepare_instance(instance: Path) -> dict[str, str]:
    """Migrate the instance's database and create a user key and an admin key."""
    instance.mkdir(parents=True, exist_ok=True)
    flask_cli(instance, "db", "upgrade")
    user = flask_cli(instance, "create-api-key", "e2e-user").strip().splitlines()[-1]
    admin = flask_cli(instance, "create-api-key", "e2e-admin", "--admin").strip().splitlines()[-1]
    return {"user": user, "admin": admin}


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    """An instance folder for one test module's server."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="module")
def keys(instance) -> dict[str, str]:
    """A user key and an admin key, made with the real CLI."""
    return prepare_instance(instance)


@contextmanager
def running_server(instance: Path, wait_for: str = "/readyz", **env: str) -> Iterator[Server]:
    """A started server for the instance with extra settings, stopped on exit."""
    srv = Server(instance, wait_for, **env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(instance, keys):
    """One running server per test module."""
    with running_server(instance) as srv:
        yield srv
