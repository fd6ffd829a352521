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
