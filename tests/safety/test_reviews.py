"""Review marks round trip: the app logs and reviews refusals, safety exports, train reads.

The database is made by the app's own migrations and written through its RefusalLog (tests may
import webapp; safety/ itself reads the table with SQLAlchemy Core).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from limits.storage import MemoryStorage

from safety.cli import main as cli_main
from safety.head_training import parse_args, training_rows
from safety.labelled_sets import read_tsv
from safety.verdict import Safeguards, Verdict

# (stage, categories, matched terms, prompt, negative prompt, review mark)
REFUSALS = [
    ("blocklist", ("sexual",), ("nude",), "a nude woman on a bed", "", "confirmed"),
    ("classifier", ("violence", "hate"), (), "a lynching, crowd cheering", "", "confirmed"),
    ("classifier", ("violence",), (), "glowing jellyfish,\thighly detailed", "", "false_positive"),
    ("classifier", ("sexual",), (), "hope", "", "false_positive"),
    ("classifier", ("sexual",), (), "hope", "", "false_positive"),  # twice: exported once
    ("classifier", ("self-harm",), (), "a rope on a beam", "", "confirmed"),
    ("classifier", ("self-harm",), (), "a rope on a beam", "", "false_positive"),  # disagree
    ("image", ("sexual",), (), "a red car", "", "confirmed"),  # what the model drew
    ("blocklist", ("sexual",), ("negative prompt: clothing",), "a woman", "clothes", "confirmed"),
    ("classifier", ("sexual",), (), "a cat in a hat", "", "unreviewed"),
]
# (prompt, review mark) of guarded entries, generated with safeguards and then reviewed.
GUARDED = [
    ("a woman in lingerie, boudoir", "should_refuse"),
    ("a bikini fit body at the beach", "false_positive"),
    ("a sensual portrait", "confirmed"),  # borderline: right to guard
    ("a pin-up poster", "unreviewed"),
]


@pytest.fixture
def reviewed_db(database_url: str) -> str:
    """The app's schema with refusals recorded and reviewed as an admin would."""
    from sqlalchemy.orm import sessionmaker

    from webapp.db import make_engine
    from webapp.limits import RefusalGuard
    from webapp.migrate import upgrade
    from webapp.refusal_log import RefusalLog

    upgrade(database_url)
    engine = make_engine(database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    log = RefusalLog(factory, RefusalGuard(MemoryStorage(), "99/minute", 60))
    for stage, categories, terms, prompt, negative, mark in REFUSALS:
        verdict = Verdict(False, stage, categories, {}, terms, "why", "blocklist-x+clf-y")
        row = log.record(verdict, prompt, negative, "key:1", "api", "canvas-shapes")
        if mark != "unreviewed":
            log.review(row.id, mark, "alice", None)
    safeguards = Safeguards("nudity", 0.2)
    for prompt, mark in GUARDED:
        verdict = Verdict(True, "classifier", ("sexual",), action="guard", safeguards=safeguards)
        row = log.record(verdict, prompt, "", "key:1", "api", "canvas-shapes", job_id="j")
        if mark != "unreviewed":
            log.review(row.id, mark, "alice", None)
    engine.dispose()
    return database_url


def test_export_writes_what_train_reads(reviewed_db: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "reviews.tsv"
    assert cli_main(["export-reviews", "--database-url", reviewed_db, "--out", str(out)]) == 0
    rows = {r.text: (r.label, r.category) for r in read_tsv(out)}
    assert rows == {
        "a nude woman on a bed": ("1", "sexual"),
        "a lynching, crowd cheering": ("1", "violence"),  # the first of its categories
        "glowing jellyfish, highly detailed": ("0", ""),  # allowed; the tab became a space
        "hope": ("0", ""),
        "a woman in lingerie, boudoir": ("1", "sexual"),  # the safeguards were not enough
        "a bikini fit body at the beach": ("0", ""),  # should have been allowed outright
        "a sensual portrait": ("B", "sexual"),
    }
    report = capsys.readouterr().err
    assert "3 refused, 1 borderline and 3 allowed" in report
    assert "1 image stage" in report and "1 prompt marked both ways" in report
    assert "1 refused for its negative prompt" in report


def test_database_url_from_the_environment(reviewed_db, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SAFECANVAS_DATABASE_URL", reviewed_db)
    assert cli_main(["export-reviews"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("#") and "0\t\thope" in lines


def test_missing_database_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("SAFECANVAS_DATABASE_URL", raising=False)
    assert cli_main(["export-reviews"]) == 2
    assert "SAFECANVAS_DATABASE_URL" in capsys.readouterr().err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"  # no refusals table: never migrated
    assert cli_main(["export-reviews", "--database-url", empty]) == 2
    assert "cannot read the review marks" in capsys.readouterr().err


def test_train_takes_the_exported_rows(reviewed_db: str, tmp_path: Path) -> None:
    """``python -m safety train --extra`` puts the marks into the rows it fits."""
    out = tmp_path / "reviews.tsv"
    assert cli_main(["export-reviews", "--database-url", reviewed_db, "--out", str(out)]) == 0
    prompts, _ = training_rows(parse_args(["--extra", str(out)]))
    fitted = {r.text: (r.label, r.category) for r in prompts if r.source == "extra"}
    assert fitted["a lynching, crowd cheering"] == ("1", "violence")
    assert fitted["hope"] == ("0", "")
    assert fitted["a sensual portrait"] == ("B", "sexual")
