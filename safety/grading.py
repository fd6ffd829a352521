"""How scores become actions: per-category refuse thresholds and what a borderline score does.

The classifier head ships calibrated thresholds (safety/models/MODEL_CARD.md). An operator may
override a category's refuse threshold and choose, per category, whether a borderline prompt is
generated with safeguards (``guard``) or refused (``refuse``). The string forms are what the web
app reads from SAFECANVAS_MODERATION_BORDERLINE ("sexual=guard,hate=refuse") and
SAFECANVAS_MODERATION_THRESHOLDS ("sexual=0.9,violence=0.95").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from safety.verdict import CATEGORIES, Safeguards

BORDERLINE_ACTIONS = ("guard", "refuse")
# Any doubt about minors is refused; other borderline prompts are generated with safeguards.
DEFAULT_BORDERLINE = {c: "refuse" if c == "sexual/minors" else "guard" for c in CATEGORIES}
# open_nsfw below 0.2 is what Yahoo calls likely safe: a borderline prompt's images must be.
GUARD_IMAGE_THRESHOLD = 0.2
SAFETY_NEGATIVES = {
    "sexual": "nudity, naked, nsfw, exposed breasts, nipples, genitals, sexual content",
    "sexual/minors": "nudity, nsfw, sexual content, suggestive pose, revealing clothing",
    "violence": "blood, gore, open wounds, injury, corpse, dismemberment, graphic violence",
    "hate": "hate symbols, swastika, nazi insignia, racist caricature",
    "harassment": "nudity, sexual content, humiliation, injury",
    "self-harm": "self-harm, cuts, blood, suicide",
    "illegal": "drugs, drug paraphernalia, weapon manufacturing",
}


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    """Split "a=x,b=y" into pairs; raise ValueError on malformed items or unknown categories."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise ValueError(f"{what}: expected category=value, got {item!r}")
        if key not in CATEGORIES:
            raise ValueError(f"{what}: unknown category {key!r} (one of {', '.join(CATEGORIES)})")
        out.append((key, value))
    return out


def parse_borderline(text: str) -> dict[str, str]:
    """ "sexual=guard,hate=refuse" -> {"sexual": "guard", "hate": "refuse"}; ValueError if bad."""
    out = dict(_pairs(text, "borderline"))
    bad = {k: v for k, v in out.items() if v not in BORDERLINE_ACTIONS}
    if bad:
        raise ValueError(f"borderline: action must be guard or refuse, not {bad}")
    return out


def parse_thresholds(text: str) -> dict[str, float]:
    """ "sexual=0.9,violence=0.95" -> {"sexual": 0.9, ...}; ValueError unless each is in (0, 1]."""
    out = {}
    for key, value in _pairs(text, "thresholds"):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"thresholds: {key}={value!r} is not a number") from None
        out[key] = number
    return check_thresholds(out)


def check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Validated copy: known categories, each threshold in (0, 1]."""
    for key, value in thresholds.items():
        if key not in CATEGORIES:
            raise ValueError(f"thresholds: unknown category {key!r}")
        if not 0.0 < float(value) <= 1.0:
            raise ValueError(f"thresholds: {key} must be in (0, 1], not {value}")
    return {k: float(v) for k, v in thresholds.items()}


@dataclass(frozen=True)
class Grading:
    """An operator's choices: borderline action per category, refuse-threshold overrides."""

    borderline: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BORDERLINE))
    thresholds: Mapping[str, float] = field(default_factory=dict)
    guard_image_threshold: float = GUARD_IMAGE_THRESHOLD

    @classmethod
    def from_options(
        cls,
        borderline: Mapping[str, str] | str | None = None,
        thresholds: Mapping[str, float] | str | None = None,
        guard_image_threshold: float | None = None,
    ) -> Grading:
        """Validated grading from mappings or their string forms; None keeps the defaults."""
        if isinstance(borderline, str):
            borderline = parse_borderline(borderline)
        if isinstance(thresholds, str):
            thresholds = parse_thresholds(thresholds)
        chosen = parse_borderline(",".join(f"{k}={v}" for k, v in (borderline or {}).items()))
        image = GUARD_IMAGE_THRESHOLD if guard_image_threshold is None else guard_image_threshold
        if not 0.0 < image <= 1.0:
            raise ValueError("guard image threshold must be in (0, 1]")
        return cls({**DEFAULT_BORDERLINE, **chosen}, check_thresholds(thresholds or {}), image)

    @property
    def tag(self) -> str:
        """ "" for the defaults, else "grading-<hash6>": part of the moderator version."""
        if (
            dict(self.borderline) == DEFAULT_BORDERLINE
            and not self.thresholds
            and (self.guard_image_threshold == GUARD_IMAGE_THRESHOLD)
        ):
            return ""
        blob = json.dumps([dict(self.borderline), dict(self.thresholds),
                           self.guard_image_threshold], sort_keys=True)  # fmt: skip
        return "grading-" + hashlib.sha256(blob.encode()).hexdigest()[:6]

    def safeguards(self, categories: tuple[str, ...], image_threshold: float) -> Safeguards:
        """Safeguards for a guarded prompt: the categories' safety negatives, a stricter check."""
        terms = dict.fromkeys(t.strip() for c in categories for t in SAFETY_NEGATIVES[c].split(","))
        return Safeguards(", ".join(terms), min(self.guard_image_threshold, image_threshold))
