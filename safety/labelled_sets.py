"""Labelled prompt sets: the training corpora, the held-out sets and the real-prompt labels.

Every label is a reading of the text under the policy (docs/policy.md): ``0`` allow, ``1``
refuse, ``B`` borderline, with one category for 1 and B. Files and their provenance:
``safety/training_data/README.md`` and ``safety/eval_data/README.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from safety.verdict import CATEGORIES

TRAINING_DIR = Path(__file__).with_name("training_data")
EVAL_DIR = Path(__file__).with_name("eval_data")
LABELS = ("0", "1", "B")
# Its collector states no licence: read from outside the repo, never copied into it.
REAL_CSV = Path("../shared/datasets/real_prompts_dev.csv")
REAL_LABELS = EVAL_DIR / "real_prompts_dev.labels.tsv"
REAL_ENRICHED_LABELS = EVAL_DIR / "real_enriched.labels.tsv"


@dataclass(frozen=True)
class Labelled:
    """One labelled text; ``category`` is empty for label 0."""

    text: str
    label: str
    category: str = ""
    source: str = ""
    weight: float = 1.0
    hard: bool = False  # I2P's "hard" flag (adversarial rows), for the report

    @property
    def refused(self) -> bool:
        """True when the policy refuses the text (label 1)."""
        return self.label == "1"


def checked(label: str, category: str, where: str) -> tuple[str, str]:
    """Validate one (label, category) pair; raise ValueError naming ``where``."""
    label, category = label.strip().upper(), category.strip()
    if label not in LABELS:
        raise ValueError(f"{where}: label must be 0, 1 or B, not {label!r}")
    if (label == "0") != (category == "") or (category and category not in CATEGORIES):
        raise ValueError(f"{where}: category {category!r} does not fit label {label}")
    return label, category


def read_tsv(path: Path, source: str = "", weight: float = 1.0) -> list[Labelled]:
    """Read ``label<TAB>category<TAB>text`` lines (``#`` lines are comments)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t", 2)
        if len(cols) != 3 or not cols[2].strip():
            raise ValueError(f"{path.name} line {number}: expected label, category and text")
        label, category = checked(cols[0], cols[1], f"{path.name} line {number}")
        rows.append(Labelled(cols[2], label, category, source or path.stem, weight))
    return rows


def read_i2p(path: Path, split: str, weight: float = 1.0) -> list[Labelled]:
    """I2P rows relabelled by reading, one split (``train`` or ``test``)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    return [
        Labelled(
            r["prompt"],
            *checked(r["label"], r["category"], path.name),
            source=f"i2p-{split}",
            weight=weight,
            hard=r["hard"] == "1",
        )
        for r in rows
    ]


def read_captions(path: Path, weight: float = 1.0) -> list[Labelled]:
    """COCO captions (a ``caption`` column): all allowed."""
    with path.open(encoding="utf-8", newline="") as f:
        return [Labelled(r["caption"], "0", "", "coco", weight) for r in csv.DictReader(f)]


def read_real(csv_path: Path, labels_path: Path, split: str | None = None) -> list[Labelled]:
    """Rows of the real-prompt CSV with their labels (of one split, when given).

    Raises FileNotFoundError when the CSV is absent: callers say so and skip.
    """
    with csv_path.open(encoding="utf-8", newline="") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    out = []
    for number, line in enumerate(labels_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if split is not None and (len(cols) < 4 or cols[3] != split):
            continue
        label, category = checked(cols[1], cols[2], f"{labels_path.name} line {number}")
        out.append(Labelled(texts[int(cols[0])], label, category, labels_path.stem))
    return out
