"""The python -m generation commands users run."""

from __future__ import annotations

import json

from generation.__main__ import main


def test_generate_writes_numbered_files(tmp_path, generator, capsys):
    out = tmp_path / "out.png"
    args = ["generate", "--prompt", "a red circle on a white background", "--seed", "1"]
    args += ["--steps", "2", "--n", "2", "--out", str(out), "--model-dir", str(tmp_path / "m")]
    assert main(args) == 0
    assert (tmp_path / "out-1.png").is_file() and (tmp_path / "out-2.png").is_file()
    assert "seed=2" in capsys.readouterr().out


def test_generate_reports_a_bad_request(tmp_path, capsys):
    args = ["generate", "--prompt", " ", "--out", str(tmp_path / "x.png")]
    assert main(args + ["--model-dir", str(tmp_path)]) == 1
    assert "prompt must not be empty" in capsys.readouterr().err


def test_versions_list_activate_rollback(tmp_path, capsys):
    base = ["versions", "--model-dir", str(tmp_path)]
    assert main(base + ["activate", "canvas-shapes-purple"]) == 0
    assert main(base + ["list"]) == 0
    listing = capsys.readouterr().out
    assert "* canvas-shapes-purple" in listing and "canvas-shapes " in listing
    assert main(base + ["rollback"]) == 0
    assert main(base + ["show", "canvas-shapes"]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert shown["active"] is True and shown["kind"] == "base"
    assert main(base + ["activate", "missing"]) == 1
    assert "unknown model version" in capsys.readouterr().err
