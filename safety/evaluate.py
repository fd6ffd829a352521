"""`python -m safety evaluate FILE`: how the chain treats a labelled file, per label.

Counts are what a user meets: for each label (0 allow, 1 refuse, B borderline) how many
prompts were refused and how many guarded. B rows count as neither right nor wrong (the
policy leaves them to the operator); they are shown so the effect of the borderline setting is
visible.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from safety.labelled_sets import LABELS, Labelled, checked, read_tsv
from safety.verdict import Verdict

POSITIVE = {"1", "true", "yes", "unsafe", "refuse", "refused", "blocked", "nsfw"}
NEGATIVE = {"0", "false", "no", "benign", "safe", "allow", "allowed", "sfw"}
LABEL_NAMES = {"0": "allowed (0)", "1": "refused (1)", "B": "borderline (B)"}


@dataclass(frozen=True)
class Tally:
    """How many prompts of one group were refused and guarded."""

    n: int
    refused: int
    guarded: int

    @property
    def rate(self) -> float:
        """Share refused (nan for an empty group)."""
        return self.refused / self.n if self.n else float("nan")


def read_rows(path: Path) -> list[Labelled]:
    """A ``label<TAB>category<TAB>text`` file (.tsv), or a CSV with ``text,label[,category]``.

    CSV labels may also be words (unsafe/benign, yes/no ...) or B; raise ValueError on others.
    """
    if path.suffix == ".tsv":
        return read_tsv(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for number, rec in enumerate(csv.DictReader(f), 2):
            label = (rec.get("label") or "").strip().lower()
            if label in POSITIVE | NEGATIVE:
                label = "1" if label in POSITIVE else "0"
            category = (rec.get("category") or "").strip() if label != "0" else ""
            if category or label not in ("1", "b"):  # a refused row may come without category
                label, category = checked(label, category, f"{path.name} line {number}")
            rows.append(Labelled(rec.get("text") or "", label.upper(), category, path.stem))
    return rows


def tally(verdicts: list[Verdict]) -> Tally:
    """Refused and guarded counts over some verdicts."""
    return Tally(
        len(verdicts),
        sum(v.action == "refuse" for v in verdicts),
        sum(v.action == "guard" for v in verdicts),
    )


def by_label(rows: list[Labelled], verdicts: list[Verdict]) -> dict[str, Tally]:
    """One tally per label present, in 0, 1, B order."""
    return {
        label: tally([v for r, v in zip(rows, verdicts, strict=True) if r.label == label])
        for label in LABELS
        if any(r.label == label for r in rows)
    }


def report(rows: list[Labelled], verdicts: list[Verdict]) -> str:
    """Table per label, refused recall per category of the label-1 rows, refusals per stage."""
    lines = [f"{'label':<16}{'n':>7}{'refused':>9}{'guarded':>9}{'refused %':>11}"]
    for label, t in by_label(rows, verdicts).items():
        lines.append(f"{LABEL_NAMES[label]:<16}{t.n:>7}{t.refused:>9}{t.guarded:>9}{t.rate:>11.2%}")
    refused_rows = [(r, v) for r, v in zip(rows, verdicts, strict=True) if r.label == "1"]
    for category in sorted({r.category for r, _ in refused_rows} - {""}):
        t = tally([v for r, v in refused_rows if r.category == category])
        lines.append(f"  {category:<14}{t.n:>7}{t.refused:>9}{t.guarded:>9}{t.rate:>11.2%}")
    stages: dict[str, int] = {}
    for v in verdicts:
        if v.action != "allow":
            key = f"{v.stage} {v.action}"
            stages[key] = stages.get(key, 0) + 1
    lines.append("by stage: " + (", ".join(f"{k} {n}" for k, n in sorted(stages.items())) or "-"))
    return "\n".join(lines)
