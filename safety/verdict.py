"""The one value every moderator returns: allow, guard (generate with safeguards) or refuse."""

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
ACTIONS = ("allow", "guard", "refuse")


@dataclass(frozen=True)
class Safeguards:
    """What a guarded request is generated with.

    ``negative_prompt``: a safety negative prompt to add to the request's own;
    ``image_threshold``: the stricter image-check threshold its images must pass.
    """

    negative_prompt: str
    image_threshold: float


@dataclass(frozen=True)
class Verdict:
    """Outcome of moderating one prompt or image.

    ``action`` is ``allow``, ``guard`` (borderline: generate with ``safeguards`` and log it for
    review) or ``refuse``; when not given it follows ``allowed``, which always equals
    ``action != "refuse"``. ``stage`` is the stage that refused or guarded, or the last stage
    that ran when allowed. ``matched_terms`` is for the moderation log only and must never be
    shown to the requester. ``language`` is the prompt's detected language ("" when unknown).
    """

    allowed: bool
    stage: str
    categories: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    matched_terms: tuple[str, ...] = ()
    reason: str = ""
    moderator_version: str = ""
    action: str = ""
    safeguards: Safeguards | None = None
    language: str = ""

    def __post_init__(self) -> None:
        action = self.action or ("allow" if self.allowed else "refuse")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if self.allowed != (action != "refuse"):
            raise ValueError("allowed must equal action != 'refuse'")
        if (action == "guard") != (self.safeguards is not None):
            raise ValueError("a guarded verdict carries safeguards, and only a guarded one")
        object.__setattr__(self, "action", action)


CATEGORY_DESCRIPTIONS = {
    "sexual": "sexual content or nudity",
    "sexual/minors": "sexual content involving minors",
    "violence": "graphic violence or gore",
    "hate": "hateful content",
    "harassment": "harassment or abusive content",
    "self-harm": "self-harm or suicide",
    "illegal": "illegal activity such as weapons or drugs",
}


def _listed(categories: tuple[str, ...]) -> str:
    """ "a, b and c" from the categories' descriptions."""
    named = [CATEGORY_DESCRIPTIONS.get(c, c) for c in categories] or ["content our policy forbids"]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def refusal_reason(subject: str, categories: tuple[str, ...]) -> str:
    """Human reason for a refusal, naming categories and never the matched words."""
    return f"The {subject} was refused because it appears to request {_listed(categories)}."


def guard_reason(categories: tuple[str, ...]) -> str:
    """Human reason for a guarded verdict, naming categories and never the matched words."""
    return (
        f"The prompt may touch on {_listed(categories)}, so it is generated with safeguards "
        "and kept for review."
    )


def order_categories(categories: set[str] | list[str]) -> tuple[str, ...]:
    """Categories in the canonical CATEGORIES order, minors first when present."""
    ranked = sorted(set(categories), key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else 99)
    if "sexual/minors" in ranked:
        ranked.remove("sexual/minors")
        ranked.insert(0, "sexual/minors")
    return tuple(ranked)
