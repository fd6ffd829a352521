"""Loading the models in the background: a process that exits meanwhile exits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A daemon thread still inside a C++ call when the interpreter finalises aborted the process
# ("terminate called without an active exception", exit status 134). This model's load spends
# its time in torch's C++ code, as the real loaders do, so the script exits inside it.
EXIT_MID_TORCH_LOAD = """
import threading, time
from webapp.loaded_models import LoadedModels

started = threading.Event()


class TorchBusyModel:
    ready = False

    def load(self):
        import torch

        a = torch.ones(800, 800)
        started.set()
        end = time.monotonic() + 2
        while time.monotonic() < end:
            a @ a
        self.ready = True

    def status(self):
        return {}


LoadedModels(TorchBusyModel(), TorchBusyModel()).load_in_background()
assert started.wait(120)
time.sleep(0.2)
print("exiting mid-load", flush=True)
"""

# The same with the real models: exit once the loader runs torch code (not an import).
EXIT_MID_REAL_LOAD = """
import sys, threading, time
from webapp import create_app

create_app()
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    loader = next((t for t in threading.enumerate() if t.name == "model-loader"), None)
    frame = sys._current_frames().get(loader.ident) if loader else None
    files = []
    while frame is not None:
        files.append(frame.f_code.co_filename)
        frame = frame.f_back
    if files and "/torch/" in files[0] and not any("importlib" in f for f in files):
        print("exiting mid-load in", files[0], flush=True)
        sys.exit(0)
    time.sleep(0.001)
sys.exit("the loader never ran torch code")
"""


def _run(script: str, instance: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECANVAS_")}
    env.update(SAFECANVAS_INSTANCE_PATH=str(instance), SAFECANVAS_LOAD_MODELS="background")
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_exit_while_loading_models_is_clean(tmp_path):
    result = _run(EXIT_MID_TORCH_LOAD, tmp_path)
    assert "exiting mid-load" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr[-2000:]
    assert "terminate called" not in result.stderr


@pytest.mark.slow  # waits for the real generator's load to end: 15-35 s here
def test_exit_while_loading_the_real_models_is_clean(tmp_path):
    result = _run(EXIT_MID_REAL_LOAD, tmp_path)
    assert "exiting mid-load" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr[-2000:]
    assert "terminate called" not in result.stderr


def test_a_script_that_builds_the_app_and_exits_at_once_is_clean(tmp_path):
    result = _run("from webapp import create_app; create_app()", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "terminate called" not in result.stderr and "Traceback" not in result.stderr
