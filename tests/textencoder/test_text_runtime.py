"""OpenMP settings: idle threads sleep by default, and an operator's own setting wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from textencoder.runtime import sleep_idle_openmp_threads

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_passive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    sleep_idle_openmp_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_operator_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    sleep_idle_openmp_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.parametrize("module", ["webapp", "safety.__main__"])
def test_set_before_torch_is_imported(module: str) -> None:
    """The entry points set it while torch is not loaded yet (libgomp reads it only once)."""
    code = (
        "import os, sys; os.environ.pop('OMP_WAIT_POLICY', None); "
        f"import {module}; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["PASSIVE", "False"]
