"""docs/policy.md's example pairs (safety/data/policy_examples.tsv) against the blocklist stage.

Every allowed example passes the blocklist; every guarded or refused example marked for the
blocklist gets that outcome there. Refusals marked for the classifier are the graded chain's
to check (they need the classifier).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safety.blocklist import DATA_DIR, Blocklist
from safety.verdict import CATEGORIES

EXAMPLES = DATA_DIR / "policy_examples.tsv"
POLICY = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def examples() -> list[tuple[str, str, str, str]]:
    """(expected, category, stage, text) per example."""
    rows = []
    for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            expected, category, stage, text = line.split("\t")
            rows.append((expected, category, stage, text))
    return rows


def test_examples_are_well_formed() -> None:
    rows = examples()
    assert {e for e, *_ in rows} == {"allow", "guard", "refuse"}
    assert all(c in CATEGORIES for e, c, *_ in rows if e != "allow")
    assert all(s in ("blocklist", "classifier") for _, _, s, _ in rows)
    # every category has at least one allowed/refused pair in the doc and the file
    refused = {c for e, c, *_ in rows if e == "refuse"}
    assert refused == set(CATEGORIES)


def test_every_example_is_in_the_policy_doc() -> None:
    doc = POLICY.read_text(encoding="utf-8")
    missing = [t for e, _, _, t in examples() if e != "guard" and t not in doc]
    assert missing == []


@pytest.mark.parametrize("text", [t for e, _, _, t in examples() if e == "allow"])
def test_allowed_examples_pass_the_blocklist(blocklist: Blocklist, text: str) -> None:
    found = blocklist.scan(text)
    assert not found.refused and not found.borderline, (found.matched_terms, found.borderline_terms)


@pytest.mark.parametrize(
    ("expected", "category", "text"),
    [(e, c, t) for e, c, s, t in examples() if e != "allow" and s == "blocklist"],
)
def test_blocklist_examples_get_their_outcome(
    blocklist: Blocklist, expected: str, category: str, text: str
) -> None:
    found = blocklist.scan(text)
    if expected == "guard":
        assert found.borderline and category in found.borderline_categories
        return
    assert found.refused
    # A named person's nudity (harassment) is refused on its words, as sexual.
    assert category in found.categories or (category == "harassment" and found.categories)


@pytest.mark.parametrize("text", [t for e, _, _, t in examples() if e == "allow"])
def test_allowed_examples_are_allowed_by_the_chain(moderation, text: str) -> None:
    verdict = moderation.check_prompt(text)
    assert verdict.action == "allow", (verdict.categories, verdict.scores)


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for e, c, _, t in examples() if e == "refuse"]
)
def test_refused_examples_are_refused_by_the_chain(moderation, category: str, text: str) -> None:
    verdict = moderation.check_prompt(text)
    assert verdict.action == "refuse", (verdict.stage, verdict.scores)


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for e, c, _, t in examples() if e == "guard"]
)
def test_borderline_examples_are_not_waved_through(moderation, category: str, text: str) -> None:
    """Borderline examples are guarded by default (or refused, when the classifier is sure)."""
    verdict = moderation.check_prompt(text)
    assert verdict.action in ("guard", "refuse"), verdict.scores
