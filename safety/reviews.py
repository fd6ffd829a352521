"""`python -m safety export-reviews`: an admin's review marks, as training rows.

Reads the web app's ``refusals`` table with SQLAlchemy Core (safety/ never imports the web
layer) and writes the ``label<TAB>category<TAB>text`` rows that ``python -m safety train
--extra`` reads: a refusal an admin confirmed becomes ``1`` with its first category, one
marked a false positive ``0``. Only prompt-stage refusals say something about the prompt's
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

    confirmed: int = 0
    false_positive: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        """Count one row left out."""
        self.skipped[why] = self.skipped.get(why, 0) + 1


def reviewed_refusals(url: str) -> list[dict]:
    """Refusals with a review mark (confirmed or false_positive), oldest first."""
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
            )
            .where(table.c.review_status.in_(("confirmed", "false_positive")))
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


def training_rows(refusals: Iterable[dict], summary: ExportSummary) -> list[tuple[str, str]]:
    """(label, text) per distinct prompt: categories joined by commas, or ``benign``."""
    labels: dict[str, str] = {}
    conflicting: set[str] = set()
    for row in refusals:
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
            label = "benign"
        else:
            categories = [c for c in _as_list(row["categories"]) if c in CATEGORIES]
            if not categories:
                summary.skip("no known category")
                continue
            label = ",".join(order_categories(categories))
        if labels.setdefault(text, label) != label:
            conflicting.add(text)
    for text in conflicting:
        del labels[text]
        summary.skip("prompt marked both ways")
    rows = sorted(labels.items(), key=lambda kv: (kv[1] != "benign", kv[1], kv[0]))
    summary.false_positive = sum(label == "benign" for _, label in rows)
    summary.confirmed = len(rows) - summary.false_positive
    return [(label, text) for text, label in rows]


def export_reviews(url: str, out: TextIO) -> ExportSummary:
    """Write the reviewed refusals of the database at ``url`` as training rows."""
    summary = ExportSummary()
    rows = training_rows(reviewed_refusals(url), summary)
    out.write(
        "# SafeCanvas review marks (python -m safety export-reviews). label<TAB>category<TAB>text\n"
    )
    for label, text in rows:
        first = "" if label == "benign" else label.split(",")[0]  # minors first when present
        out.write(f"{'0' if label == 'benign' else '1'}\t{first}\t{text}\n")
    return summary
