"""The one moderation interface: blocklist, then classifier, for prompts; open_nsfw for images.

A prompt's verdict is graded: ``refuse`` when the policy clearly refuses it, ``guard`` when it
is borderline (generated with safeguards and logged for review; per category an operator may
refuse instead), ``allow`` otherwise. Every failure inside a stage becomes
ModerationUnavailable: the caller refuses the request (HTTP 503), it never waves it through.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from safety.blocklist import Blocklist, BlocklistResult, refusal_verdict
from safety.classifier import PromptClassifier, PromptScores
from safety.errors import ModerationUnavailable
from safety.grading import Grading
from safety.image import ImageCheck
from safety.verdict import CATEGORIES, Verdict, guard_reason, order_categories, refusal_reason

if TYPE_CHECKING:
    from PIL import Image

COMPONENTS = ("blocklist", "classifier", "image")
# The evidence a refusal for its negative prompt carries (export-reviews leaves those out).
NEGATIVE_PROMPT_TERM = "negative prompt: clothing"
SEXUAL = CATEGORIES.index("sexual")


@dataclass(frozen=True)
class Reading:
    """What the classifier stage concluded about one prompt, before the operator's choices."""

    refuse: frozenset[str]
    borderline: frozenset[str]
    evidence: tuple[str, ...]


class Moderation:
    """Cheap to construct; ``load()`` once (heavy), then check prompts and images.

    ``borderline``: per category, what a borderline prompt gets, ``"guard"`` or ``"refuse"``
    (a mapping or "sexual=guard,hate=refuse"); ``thresholds``: refuse-threshold overrides per
    category (a mapping or "sexual=0.9"). Both are validated here (ValueError).
    """

    def __init__(
        self,
        encoder=None,
        image_threshold: float | None = None,
        blocklist_path: str | Path | None = None,
        classifier_path: str | Path | None = None,
        image_model_path: str | None = None,
        encoder_precision: str = "auto",
        borderline: Mapping[str, str] | str | None = None,
        thresholds: Mapping[str, float] | str | None = None,
        guard_image_threshold: float | None = None,
    ) -> None:
        self.text_encoder = encoder  # a textencoder.TextEncoder; None: the process-wide one
        self.blocklist = Blocklist(blocklist_path)
        self.classifier = PromptClassifier(encoder, classifier_path, encoder_precision)
        self.image = ImageCheck(image_threshold, image_model_path)
        self.grading = Grading.from_options(borderline, thresholds, guard_image_threshold)
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, parts: tuple[str, ...] = COMPONENTS) -> None:
        """Load the components not loaded yet; raise ModerationUnavailable naming the failures.

        ``parts`` lets a prompt-only tool (the CLI) skip the image model.
        """
        with self._lock:
            if "blocklist" in parts:
                self.blocklist.detector.start()  # reads its model while the encoder loads
            for name in sorted(parts, key=lambda n: n == "blocklist"):
                part = getattr(self, name)
                if part.loaded:
                    continue
                try:
                    part.load()
                    self._errors.pop(name, None)
                except Exception as exc:  # a broken part must never look "ready"
                    self._errors[name] = str(exc) or type(exc).__name__
        failed = {k: v for k, v in self._errors.items() if k in parts}
        if failed:
            detail = "; ".join(f"{k}: {v}" for k, v in failed.items())
            raise ModerationUnavailable(f"moderation unavailable ({detail})")

    def status(self) -> dict[str, str]:
        """Component -> "ready" | "not loaded" | "error: ..." (for /readyz)."""
        out = {}
        for name in COMPONENTS:
            if name in self._errors:
                out[name] = f"error: {self._errors[name]}"
            else:
                out[name] = "ready" if getattr(self, name).loaded else "not loaded"
        return out

    @property
    def version(self) -> str:
        """Moderator version recorded with every verdict (operator overrides included)."""
        parts = [self.blocklist.version, self.blocklist.rules_version, self.classifier.version]
        parts.append(self.image.version)
        return "+".join([*parts, self.grading.tag] if self.grading.tag else parts)

    def refuse_thresholds(self) -> np.ndarray:
        """The refuse thresholds in force per category: the head's, with overrides applied."""
        shipped, _ = self.classifier.thresholds()
        return np.array(
            [self.grading.thresholds.get(c, t) for c, t in zip(CATEGORIES, shipped, strict=True)]
        )

    def _require(self, *names: str) -> None:
        """Refuse to run unless the named components loaded."""
        missing = [n for n in names if not getattr(self, n).loaded]
        if missing:
            raise ModerationUnavailable(f"moderation unavailable: {', '.join(missing)} not loaded")

    def check_prompt(self, prompt: str, negative_prompt: str = "") -> Verdict:
        """Moderate one prompt (and the steering its negative prompt adds)."""
        return self.check_prompts([prompt], [negative_prompt])[0]

    def check_prompts(
        self, prompts: list[str], negative_prompts: list[str] | None = None
    ) -> list[Verdict]:
        """Moderate many prompts: blocklist each, then one batched classifier pass."""
        negatives = negative_prompts or [""] * len(prompts)
        if len(negatives) != len(prompts):
            raise ValueError("negative_prompts must match prompts one to one")
        self._require("blocklist", "classifier")
        try:
            scans = [self.blocklist.scan(p) for p in prompts]
            todo = [i for i, s in enumerate(scans) if not s.categories]
            steer = [i for i in todo if negatives[i].strip()]
            read, neg = self.classifier.assess(
                [prompts[i] for i in todo], [negatives[i] for i in steer]
            )
        except ModerationUnavailable:
            raise
        except Exception as exc:
            raise ModerationUnavailable(f"moderation unavailable: {exc}") from exc
        verdicts: list[Verdict | None] = [refusal_verdict(s, self.version) if s.categories else None
                                          for s in scans]  # fmt: skip
        steering = {i: row for row, i in enumerate(steer)}
        for row, i in enumerate(todo):
            reading = self._read(read, row, scans[i])
            if i in steering:
                listed = self.blocklist.removes_clothing(negatives[i])
                reading = self._with_negative(reading, neg, steering[i], scans[i], listed)
            verdicts[i] = self._graded(reading, read.refuse[row], scans[i])
        return verdicts  # type: ignore[return-value]

    def check_image(self, image: Image.Image, threshold: float | None = None) -> Verdict:
        """Moderate one generated image (stage "image").

        ``threshold``: a guarded job's stricter one (never looser than the configured one).
        """
        self._require("image")
        limit = self.image.threshold if threshold is None else min(threshold, self.image.threshold)
        nsfw = self.image.score(image)
        scores = {"sexual": round(nsfw, 4)}
        if nsfw < limit:
            return Verdict(True, "image", scores=scores, moderator_version=self.version)
        return Verdict(
            allowed=False,
            stage="image",
            categories=("sexual",),
            scores=scores,
            reason=refusal_reason("generated image", ("sexual",)),
            moderator_version=self.version,
        )

    def _read(self, scores: PromptScores, row: int, found: BlocklistResult) -> Reading:
        """Categories the classifier refuses or finds borderline for one prompt (with the
        blocklist's borderline terms)."""
        refuse_at = self.refuse_thresholds()
        _, borderline_at = self.classifier.thresholds()
        refuse = over(scores.refuse[row], refuse_at)
        borderline = over(scores.borderline[row], borderline_at)
        # A minor with any sexual signal is refused as sexual/minors, whatever the other scores:
        # the head alone cannot see "a child" and "posing" as one request.
        sexual_signal = (
            scores.refuse[row, SEXUAL] >= refuse_at[SEXUAL] * self.classifier.minor_factor
            or found.suggestive
        )
        if found.mentions_minor and sexual_signal:
            refuse.add("sexual/minors")
        elif not sexual_signal:
            refuse.discard("sexual/minors")
            borderline.discard("sexual/minors")
        # The blocklist's borderline terms (lingerie, "covered in blood") guard like the head's.
        borderline |= set(found.borderline_categories)
        evidence = tuple(f"borderline term: {t}" for t in found.borderline_terms)
        return Reading(frozenset(refuse), frozenset(borderline - refuse), evidence)

    def _with_negative(
        self, reading: Reading, neg: PromptScores, row: int, found: BlocklistResult, listed: bool
    ) -> Reading:
        """Add what the negative prompt steers towards (clothing left out reads as sexual).

        Judged by the negative-prompt head (meaning); ``listed``: the blocklist's clothing words
        matched too, which refuses on its own.
        """
        refuse_at, borderline_at = self.classifier.thresholds("negative")
        refuse = over(neg.refuse[row], refuse_at) | ({"sexual"} if listed else set())
        borderline = over(neg.borderline[row], borderline_at) - refuse
        if found.mentions_minor and (refuse | borderline) & {"sexual"}:
            refuse.add("sexual/minors")
        if not refuse | borderline:
            return reading
        evidence = (*reading.evidence, NEGATIVE_PROMPT_TERM)
        return Reading(
            reading.refuse | refuse, (reading.borderline | borderline) - refuse, evidence
        )

    @staticmethod
    def classifier_may_refuse(found: BlocklistResult) -> bool:
        """Whether the English-only classifier may refuse this prompt on its own.

        A prompt the detector is confident is not English (``found.classifier_competent`` is
        False) is one the classifier cannot read: what it would refuse is guarded at most (the
        operator's borderline setting may still refuse it), and the blocklist of the prompt's
        language judges it (docs/moderation.md, "Other languages").
        """
        return found.classifier_competent

    def _graded(
        self, reading: Reading, refuse_scores: np.ndarray, found: BlocklistResult
    ) -> Verdict:
        """The verdict for one prompt the blocklist let through, with the operator's choices."""
        scores = {c: round(float(s), 4) for c, s in zip(CATEGORIES, refuse_scores, strict=True)}
        if not self.classifier_may_refuse(found):
            reading = Reading(frozenset(), reading.refuse | reading.borderline, reading.evidence)
        refused = set(reading.refuse)
        refused |= {c for c in reading.borderline if self.grading.borderline[c] == "refuse"}
        if refused:
            categories = order_categories(refused)
            return Verdict(
                allowed=False,
                stage="classifier",
                categories=categories,
                scores=scores,
                matched_terms=reading.evidence,
                reason=refusal_reason("prompt", categories),
                moderator_version=self.version,
                language=found.language,
            )
        if reading.borderline:
            categories = order_categories(reading.borderline)
            return Verdict(
                allowed=True,
                stage="classifier",
                categories=categories,
                scores=scores,
                matched_terms=reading.evidence,
                reason=guard_reason(categories),
                moderator_version=self.version,
                action="guard",
                safeguards=self.grading.safeguards(categories, self.image.threshold),
                language=found.language,
            )
        return Verdict(
            True,
            "classifier",
            scores=scores,
            moderator_version=self.version,
            language=found.language,
        )


def over(scores: np.ndarray, thresholds: np.ndarray) -> set[str]:
    """The categories whose score reaches their threshold."""
    return {c for c, s, t in zip(CATEGORIES, scores, thresholds, strict=True) if s >= t}
