"""gunicorn.conf.py hooks: device slots for workers and the Prometheus multiprocess folder."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def _conf(monkeypatch, tmp_path) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_workers_get_distinct_device_slots_and_a_replacement_reuses_a_freed_one(
    monkeypatch, tmp_path
):
    conf = _conf(monkeypatch, tmp_path)
    server = SimpleNamespace(WORKERS={})
    for pid in (101, 102, 103):
        worker = SimpleNamespace(pid=pid)
        conf["pre_fork"](server, worker)
        server.WORKERS[pid] = worker
    assert [w.device_slot for w in server.WORKERS.values()] == [0, 1, 2]
    del server.WORKERS[102]  # worker on slot 1 died
    replacement = SimpleNamespace(pid=104)
    conf["pre_fork"](server, replacement)
    assert replacement.device_slot == 1
    monkeypatch.setenv("SAFECANVAS_DEVICE_SLOT", "")
    conf["post_fork"](server, replacement)
    assert os.environ["SAFECANVAS_DEVICE_SLOT"] == "1"


def test_a_new_master_starts_from_an_empty_metrics_folder(monkeypatch, tmp_path):
    conf = _conf(monkeypatch, tmp_path)
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999.db").write_bytes(b"stale")
    conf["on_starting"](SimpleNamespace())
    assert list(folder.iterdir()) == []
