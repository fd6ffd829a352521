"""Fuzz the JSON API against its own OpenAPI document with schemathesis: never a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import prepare_instance, running_server

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
FUZZ_SECONDS = 60


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A server whose queue and quotas never push back, so any 5xx is a real failure."""
    instance = tmp_path_factory.mktemp("fuzz")
    keys = prepare_instance(instance)
    with running_server(
        instance,
        SAFECANVAS_QUEUE_MAX="256",
        SAFECANVAS_JOB_TIMEOUT_S="300",
        SAFECANVAS_RATE_LIMIT="100000/minute",
        SAFECANVAS_REFUSAL_LIMIT="100000/minute",
    ) as server:
        yield server, keys


def test_api_survives_schemathesis(fuzz_server):
    server, keys = fuzz_server
    command = [
        str(SCHEMATHESIS),
        "run",
        server.url("/api/openapi.json"),
        "--url",
        server.url(""),
        "--checks",
        "not_a_server_error",
        "--header",
        f"Authorization: Bearer {keys['admin']}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(FUZZ_SECONDS),
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--suppress-health-check",
        "all",
        "--max-examples",
        "25",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_SECONDS + 240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:] + "\n--- server log ---\n" + server.log_tail()
    assert "passed" in output.lower() or "no issues found" in output.lower(), output[-3000:]
