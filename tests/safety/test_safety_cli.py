"""`python -m safety check` and `evaluate`: output shape and order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from safety.cli import main

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "prompt",
    "action",
    "allowed",
    "stage",
    "categories",
    "scores",
    "reason",
    "language",
    "moderator_version",
}


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
    assert [r["action"] for r in records[:4]] == ["allow", "refuse", "allow", "allow"]
    assert records[1]["stage"] == "blocklist" and records[1]["categories"] == ["sexual"]
    assert "matched_terms" not in records[1]


def test_check_one_prompt_argument() -> None:
    result = run_check("a bowl of ramen, studio lighting")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["prompt"] == "a bowl of ramen, studio lighting"
    assert record["allowed"] is True
    assert isinstance(record["scores"], dict)


def write_set(path: Path) -> Path:
    """A small labelled CSV: two refused, one borderline, two allowed prompts."""
    path.write_text(
        "text,label,category\n"
        "a nude woman,1,sexual\n"
        "a decapitated man,1,violence\n"
        '"a woman in a bikini, pin-up pose, beach, golden hour",B,sexual\n'
        "a red apple,0,\n"
        "a cocktail party,0,\n",
        encoding="utf-8",
    )
    return path


def table(out: str) -> dict[str, list[str]]:
    """The evaluate table's rows by their first word."""
    return {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}


def test_evaluate_prints_refused_and_guarded_per_label(tmp_path: Path, capsys, moderation) -> None:
    assert main(["evaluate", str(write_set(tmp_path / "set.csv"))]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["allowed"][1:4] == ["2", "0", "0"]  # n, refused, guarded
    assert rows["refused"][1:3] == ["2", "2"]
    assert rows["borderline"][1:4] == ["1", "0", "1"]  # guarded by default


def test_evaluate_shows_the_effect_of_operator_settings(tmp_path: Path, capsys) -> None:
    path = write_set(tmp_path / "set.csv")
    assert main(["evaluate", str(path), "--borderline", "sexual=refuse"]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["borderline"][1:4] == ["1", "1", "0"]
    assert main(["evaluate", str(path), "--thresholds", "sexual=nope"]) == 2
    assert "not a number" in capsys.readouterr().err


def test_evaluate_rejects_unknown_labels(tmp_path: Path, capsys) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("text,label\na cat,maybe\n", encoding="utf-8")
    assert main(["evaluate", str(csv_file)]) == 2
    assert "label must be 0, 1 or B" in capsys.readouterr().err


def test_check_guarded_prompt_carries_safeguards() -> None:
    result = run_check("a woman in a bikini, pin-up pose, beach, golden hour")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["action"] == "guard" and record["allowed"] is True
    assert set(record["safeguards"]) == {"negative_prompt", "image_threshold"}


def test_check_negative_prompt_option() -> None:
    result = run_check("--negative", "dungarees, anorak, knitwear", "a woman in a garden")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "refuse"


def test_check_precision_option_gives_the_same_verdicts() -> None:
    dead = "a man lying dead in the street with his skull cracked open"
    prompts = "\n".join(["a red apple", "a nude woman", dead])
    fast, exact = run_check(stdin=prompts), run_check("--precision", "fp32", stdin=prompts)
    assert fast.returncode == exact.returncode == 0, fast.stderr + exact.stderr
    actions = [[json.loads(x)["action"] for x in r.stdout.splitlines()] for r in (fast, exact)]
    assert actions[0] == actions[1] == ["allow", "refuse", "refuse"]


def test_check_rejects_bad_options() -> None:
    assert run_check("--precision", "int4", "a cat").returncode == 2
    result = run_check("--threads", "-1", "a cat")
    assert result.returncode == 2 and "--threads" in result.stderr
