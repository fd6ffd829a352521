"""`python -m safety export-reviews`: an admin's review marks, as training rows.

Reads the web app's ``refusals`` table with SQLAlchemy Core (safety/ never imports the web
layer) and writes the ``label<TAB>category<TAB>text`` rows that ``python -m safety train
--extra`` reads: a refusal an admin confirmed, or a guarded prompt marked should-refuse,
becomes ``1`` with its first category; a guarded prompt confirmed as borderline ``B``; one
marked a false positive ``0``. Only prompt-stage entries say something about the prompt's
text: image-stage ones (what the model drew) and refusals caused by a negative prompt are left
out, as are prompts whose marks disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from safety.verdict import CATEGORIES, order_categories

PROMPT_STAGES = ("blocklist", "classifier")
NEGATIVE_PROMPT_TERM = "negative prompt: clothing"  # the evidence Moderation logs for it


@dataclass
class ExportSummary:
    """What was written and what was left out, and why."""

    refused: int = 0  # label 1
    borderline: int = 0  # label B
    allowed: int = 0  # label 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        """Count one row left out."""
        self.skipped[why] = self.skipped.get(why, 0) + 1


def reviewed_refusals(url: str) -> list[dict]:
    """Log entries with a review mark, oldest first; ``outcome`` once the table has it."""
    from sqlalchemy import MetaData, Table, create_engine, select

    engine = create_engine(url)
    try:
        table = Table("refusals", MetaData(), autoload_with=engine)
        query = (
            select(
                table.c.id,
                table.c.stage,
                table.c.categories,
                table.c.matched_terms,
                table.c.prompt,
                table.c.review_status,
                *([table.c.outcome] if "outcome" in table.c else []),  # guarded entries
            )
            .where(table.c.review_status.in_(("confirmed", "false_positive", "should_refuse")))
            .order_by(table.c.id)
        )
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


def _as_list(value) -> list:
    """A JSON column's value (some drivers hand back the JSON text)."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value or [])


def training_rows(entries: Iterable[dict], summary: ExportSummary) -> list[tuple[str, str, str]]:
    """(label, category, text) per distinct prompt, as ``labelled_sets.read_tsv`` reads them."""
    labels: dict[str, tuple[str, str]] = {}
    conflicting: set[str] = set()
    for row in entries:
        text = " ".join(str(row["prompt"]).split())  # one line, no tabs
        if row["stage"] not in PROMPT_STAGES:
            summary.skip("image stage")
            continue
        if NEGATIVE_PROMPT_TERM in _as_list(row["matched_terms"]):
            summary.skip("refused for its negative prompt")
            continue
        if not text:
            summary.skip("empty prompt")
            continue
        if row["review_status"] == "false_positive":
            label = ("0", "")
        else:
            categories = [c for c in _as_list(row["categories"]) if c in CATEGORIES]
            if not categories:
                summary.skip("no known category")
                continue
            borderline = row.get("outcome") == "guarded" and row["review_status"] == "confirmed"
            # The first category: minors first when present.
            label = ("B" if borderline else "1", order_categories(categories)[0])
        if labels.setdefault(text, label) != label:
            conflicting.add(text)
    for text in conflicting:
        del labels[text]
        summary.skip("prompt marked both ways")
    rows = sorted((label, category, text) for text, (label, category) in labels.items())
    summary.allowed = sum(label == "0" for label, _, _ in rows)
    summary.refused = sum(label == "1" for label, _, _ in rows)
    summary.borderline = sum(label == "B" for label, _, _ in rows)
    return rows


def export_reviews(url: str, out: TextIO) -> ExportSummary:
    """Write the reviewed refusals of the database at ``url`` as training rows."""
    summary = ExportSummary()
    rows = training_rows(reviewed_refusals(url), summary)
    out.write(
        "# SafeCanvas review marks (python -m safety export-reviews). label<TAB>category<TAB>text\n"
    )
    for label, category, text in rows:
        out.write(f"{label}\t{category}\t{text}\n")
    return summary
