"""The shipped nginx site (docker/nginx/) run by the local nginx, in front of a test server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.e2e.conftest import ROOT, free_port

SITES = ROOT / "docker" / "nginx"
NGINX_READY_S = 60  # nginx starts in milliseconds, unless the machine is busy


def nginx_binary() -> str:
    """The local nginx; skipped where there is none (CI installs it: .ci/run)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        message = "nginx not installed (apt-get install nginx)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true, so this is a failure, not a skip")
        pytest.skip(message)
    return found


def _replace(text: str, old: str, new: str) -> str:
    """Replace ``old``, which the shipped file must contain (so drift fails loudly)."""
    assert old in text, f"the shipped nginx site no longer contains {old!r}"
    return text.replace(old, new)


def write_config(folder: Path, site: str, app_port: int, ports: dict[int, int]) -> Path:
    """nginx.conf for ``site`` (http or https) with the app and the listen ports moved."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (SITES / f"{site}.conf").read_text()
    text = _replace(text, "server app:8000;", f"server 127.0.0.1:{app_port};")
    text = _replace(text, "/etc/nginx/safecanvas/", f"{folder}/")
    if site == "https":
        text = _replace(text, "/etc/nginx/certs/", f"{folder}/certs/")
    for inside, outside in ports.items():
        text, count = re.subn(rf"listen {inside}\b", f"listen 127.0.0.1:{outside}", text)
        assert count, f"the {site} site no longer listens on {inside}"
    (folder / "site.conf").write_text(text)
    proxy = (SITES / "proxy.conf").read_text()
    proxy = _replace(proxy, "/var/log/nginx/access.log", str(folder / "access.log"))
    (folder / "proxy.conf").write_text(proxy)
    shutil.copy(SITES / "logging.conf", folder / "logging.conf")
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    temp += f" uwsgi_temp_path {folder / 'uwsgi'}; scgi_temp_path {folder / 'scgi'};"
    (folder / "nginx.conf").write_text(
        f"""
        {"user root;" if os.geteuid() == 0 else ""}
        worker_processes 1;
        pid {folder / "nginx.pid"};
        error_log {folder / "error.log"} warn;
        events {{ worker_connections 512; }}
        http {{
            access_log off;
            {temp}
            include {folder / "site.conf"};
        }}
        """
    )
    return folder / "nginx.conf"


def self_signed_certificate(folder: Path) -> None:
    """fullchain.pem and privkey.pem for 127.0.0.1, as the https site expects them."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(folder / "privkey.pem")]
        + ["-out", str(folder / "fullchain.pem")],
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextmanager
def running_proxy(folder: Path, site: str, app_port: int) -> Iterator[dict[int, int]]:
    """nginx serving ``site`` in front of 127.0.0.1:app_port; yields {80: port, 443: port}."""
    binary = nginx_binary()
    ports = {80: free_port(), 443: free_port()} if site == "https" else {80: free_port()}
    if site == "https":
        self_signed_certificate(folder / "certs")
    conf = write_config(folder, site, app_port, ports)
    proc = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + NGINX_READY_S
        while True:
            assert proc.poll() is None, f"nginx exited: {proc.stderr.read()}"
            try:
                socket.create_connection(("127.0.0.1", ports[80]), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"nginx did not listen in {NGINX_READY_S} s"
                time.sleep(0.05)
        yield ports
    finally:
        proc.terminate()
        proc.wait(10)
