"""Graded verdicts: the Verdict contract and the operator's per-category settings."""

from __future__ import annotations

import pytest

from safety.grading import DEFAULT_BORDERLINE, Grading, parse_borderline, parse_thresholds
from safety.verdict import Safeguards, Verdict


def test_action_follows_allowed_when_not_given() -> None:
    assert Verdict(True, "classifier").action == "allow"
    assert Verdict(False, "blocklist").action == "refuse"


def test_guarded_verdict_is_allowed_and_carries_safeguards() -> None:
    guard = Verdict(True, "classifier", action="guard", safeguards=Safeguards("nudity", 0.2))
    assert guard.allowed and guard.safeguards.image_threshold == 0.2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allowed": False, "action": "guard", "safeguards": Safeguards("x", 0.2)},
        {"allowed": True, "action": "refuse"},
        {"allowed": True, "action": "guard"},  # no safeguards
        {"allowed": True, "action": "allow", "safeguards": Safeguards("x", 0.2)},
        {"allowed": True, "action": "maybe"},
    ],
)
def test_inconsistent_verdicts_cannot_be_built(kwargs) -> None:
    with pytest.raises(ValueError):
        Verdict(stage="classifier", **kwargs)


def test_string_forms_parse() -> None:
    assert parse_borderline(" sexual=refuse, hate = guard ,") == {
        "sexual": "refuse",
        "hate": "guard",
    }
    assert parse_thresholds("sexual=0.9,violence=1") == {"sexual": 0.9, "violence": 1.0}
    assert parse_borderline("") == parse_thresholds("") == {}


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_borderline, "sexual=block", "guard or refuse"),
        (parse_borderline, "nudity=guard", "unknown category"),
        (parse_borderline, "sexual", "category=value"),
        (parse_thresholds, "sexual=high", "not a number"),
        (parse_thresholds, "sexual=0", r"\(0, 1\]"),
        (parse_thresholds, "violence=1.5", r"\(0, 1\]"),
    ],
)
def test_bad_settings_name_the_problem(parser, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parser(text)


def test_defaults_guard_everything_but_minors() -> None:
    grading = Grading.from_options()
    assert grading.borderline == DEFAULT_BORDERLINE
    assert grading.borderline["sexual/minors"] == "refuse"
    assert {v for k, v in grading.borderline.items() if k != "sexual/minors"} == {"guard"}
    assert grading.tag == ""


def test_overrides_change_the_tag() -> None:
    a = Grading.from_options("sexual=refuse")
    b = Grading.from_options({"sexual": "refuse"})
    c = Grading.from_options(thresholds="sexual=0.9")
    assert a.tag == b.tag != c.tag
    assert a.tag.startswith("grading-") and c.tag.startswith("grading-")


def test_safeguards_join_the_categories_negatives() -> None:
    guard = Grading.from_options().safeguards(("sexual", "violence"), image_threshold=0.4)
    assert "nudity" in guard.negative_prompt and "gore" in guard.negative_prompt
    assert guard.image_threshold == 0.2
    stricter = Grading.from_options().safeguards(("sexual",), image_threshold=0.1)
    assert stricter.image_threshold == 0.1  # never looser than the operator's own threshold
