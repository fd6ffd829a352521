"""`python -m safety check` and `evaluate`: output shape and order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from safety.cli import main

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"prompt", "allowed", "stage", "categories", "scores", "reason", "moderator_version"}


def run_check(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run the CLI as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "safety", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_check_reads_stdin_and_keeps_order() -> None:
    prompts = ["a red apple", "a nude woman", "a lighthouse at dusk", "a red apple", ""]
    result = run_check(stdin="\n".join(prompts) + "\n")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["prompt"] for r in records] == prompts
    assert all(KEYS <= set(r) for r in records)
    assert [r["allowed"] for r in records[:4]] == [True, False, True, True]
    assert records[1]["stage"] == "blocklist" and records[1]["categories"] == ["sexual"]
    assert "matched_terms" not in records[1]


def test_check_one_prompt_argument() -> None:
    result = run_check("a bowl of ramen, studio lighting")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["prompt"] == "a bowl of ramen, studio lighting"
    assert record["allowed"] is True
    assert isinstance(record["scores"], dict)


def test_evaluate_prints_table(tmp_path: Path, capsys, moderation) -> None:
    csv_file = tmp_path / "set.csv"
    csv_file.write_text(
        "text,label,category\n"
        "a nude woman,1,sexual\n"
        "a decapitated man,1,violence\n"
        "a red apple,0,\n"
        "a cocktail party,0,\n",
        encoding="utf-8",
    )
    assert main(["evaluate", str(csv_file)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out and "FPR" in out
    overall = next(line for line in out.splitlines() if line.startswith("overall"))
    assert overall.split()[1:] == ["4", "1.000", "1.000", "0.0000"]
    assert any(line.startswith("violence") for line in out.splitlines())


def test_evaluate_rejects_unknown_labels(tmp_path: Path, capsys) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("text,label\na cat,maybe\n", encoding="utf-8")
    assert main(["evaluate", str(csv_file)]) == 2
    assert "unknown label" in capsys.readouterr().err


def test_check_precision_option_gives_the_same_verdicts() -> None:
    dead = "a man lying dead in the street with his skull cracked open"
    prompts = "\n".join(["a red apple", "a nude woman", dead])
    fast, exact = run_check(stdin=prompts), run_check("--precision", "fp32", stdin=prompts)
    assert fast.returncode == exact.returncode == 0, fast.stderr + exact.stderr
    allowed = [[json.loads(x)["allowed"] for x in r.stdout.splitlines()] for r in (fast, exact)]
    assert allowed[0] == allowed[1] == [True, False, False]


def test_check_rejects_bad_options() -> None:
    assert run_check("--precision", "int4", "a cat").returncode == 2
    result = run_check("--threads", "-1", "a cat")
    assert result.returncode == 2 and "--threads" in result.stderr
