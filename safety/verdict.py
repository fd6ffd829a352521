"""The one value every moderator returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STAGES = ("blocklist", "classifier", "image")
CATEGORIES = (
    "sexual",
    "sexual/minors",
    "violence",
    "hate",
    "harassment",
    "self-harm",
    "illegal",
)


@dataclass(frozen=True)
class Verdict:
    """Outcome of moderating one prompt or image.

    ``matched_terms`` is for the refusal log only and must never be shown to the requester.
    ``stage`` is the stage that refused, or the last stage that ran when allowed.
    """

    allowed: bool
    stage: str
    categories: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    matched_terms: tuple[str, ...] = ()
    reason: str = ""
    moderator_version: str = ""


CATEGORY_DESCRIPTIONS = {
    "sexual": "sexual content or nudity",
    "sexual/minors": "sexual content involving minors",
    "violence": "graphic violence or gore",
    "hate": "hateful content",
    "harassment": "harassment or abusive content",
    "self-harm": "self-harm or suicide",
    "illegal": "illegal activity such as weapons or drugs",
}


def refusal_reason(subject: str, categories: tuple[str, ...]) -> str:
    """Human reason for a refusal, naming categories and never the matched words."""
    named = [CATEGORY_DESCRIPTIONS.get(c, c) for c in categories] or ["content our policy forbids"]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"The {subject} was refused because it appears to request {listed}."


def order_categories(categories: set[str] | list[str]) -> tuple[str, ...]:
    """Categories in the canonical CATEGORIES order, minors first when present."""
    ranked = sorted(set(categories), key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else 99)
    if "sexual/minors" in ranked:
        ranked.remove("sexual/minors")
        ranked.insert(0, "sexual/minors")
    return tuple(ranked)
