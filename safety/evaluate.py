"""`python -m safety evaluate FILE.csv`: precision, recall and false-positive rate of the chain."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from safety.verdict import Verdict

POSITIVE = {"1", "true", "yes", "unsafe", "refuse", "refused", "blocked", "nsfw"}
NEGATIVE = {"0", "false", "no", "benign", "safe", "allow", "allowed", "sfw"}


@dataclass(frozen=True)
class Row:
    """One labelled prompt."""

    text: str
    unsafe: bool
    category: str


@dataclass(frozen=True)
class Scores:
    """Confusion counts and the rates derived from them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        """Share of refusals that were unsafe (nan when nothing was refused)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        """Share of unsafe prompts refused."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def fpr(self) -> float:
        """Share of benign prompts refused."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


def read_rows(path: Path) -> list[Row]:
    """Read ``text,label[,category]``; raise ValueError on an unknown label."""
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for number, rec in enumerate(csv.DictReader(f), 2):
            label = (rec.get("label") or "").strip().lower()
            if label not in POSITIVE | NEGATIVE:
                raise ValueError(f"{path.name} line {number}: unknown label {label!r}")
            text = rec.get("text") or ""
            rows.append(Row(text, label in POSITIVE, (rec.get("category") or "").strip()))
    return rows


def confusion(rows: list[Row], verdicts: list[Verdict], category: str | None = None) -> Scores:
    """Counts over rows.

    With a category: positives are the unsafe rows labelled with it (a refusal under any
    category counts), false positives are benign rows refused under that category.
    """
    tp = fp = fn = tn = 0
    for row, verdict in zip(rows, verdicts, strict=True):
        if row.unsafe:
            if category is None or row.category == category:
                tp, fn = tp + (not verdict.allowed), fn + verdict.allowed
            continue
        refused = not verdict.allowed and (category is None or category in verdict.categories)
        fp, tn = fp + refused, tn + (not refused)
    return Scores(tp, fp, fn, tn)


def report(rows: list[Row], verdicts: list[Verdict]) -> str:
    """Table: overall, then one line per category of the unsafe rows."""
    lines = [f"{'subset':<16}{'n':>7}{'precision':>11}{'recall':>9}{'FPR':>9}"]

    def add(name: str, s: Scores) -> None:
        n = s.tp + s.fp + s.fn + s.tn
        lines.append(f"{name:<16}{n:>7}{s.precision:>11.3f}{s.recall:>9.3f}{s.fpr:>9.4f}")

    add("overall", confusion(rows, verdicts))
    for cat in sorted({r.category for r in rows if r.category and r.unsafe}):
        add(cat, confusion(rows, verdicts, cat))
    stages: dict[str, int] = {}
    for v in verdicts:
        if not v.allowed:
            stages[v.stage] = stages.get(v.stage, 0) + 1
    lines.append("refusals by stage: " + ", ".join(f"{k} {n}" for k, n in sorted(stages.items())))
    return "\n".join(lines)
