"""The one moderation interface: blocklist, then classifier, for prompts; open_nsfw for images.

Every failure inside a stage becomes ModerationUnavailable: the caller refuses the request
(HTTP 503), it never waves it through.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from safety.blocklist import Blocklist, BlocklistResult, refusal_verdict
from safety.classifier import PromptClassifier
from safety.errors import ModerationUnavailable
from safety.image import ImageCheck
from safety.verdict import CATEGORIES, Verdict, order_categories, refusal_reason

if TYPE_CHECKING:
    from PIL import Image

COMPONENTS = ("blocklist", "classifier", "image")


class Moderation:
    """Cheap to construct; ``load()`` once (heavy), then check prompts and images."""

    def __init__(
        self,
        encoder=None,
        image_threshold: float | None = None,
        blocklist_path: str | Path | None = None,
        classifier_path: str | Path | None = None,
        image_model_path: str | None = None,
        encoder_precision: str = "auto",
    ) -> None:
        self.text_encoder = encoder  # a textencoder.TextEncoder; None: the process-wide one
        self.blocklist = Blocklist(blocklist_path)
        self.classifier = PromptClassifier(encoder, classifier_path, encoder_precision)
        self.image = ImageCheck(image_threshold, image_model_path)
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
        """Moderator version recorded with every verdict."""
        return f"{self.blocklist.version}+{self.classifier.version}+{self.image.version}"

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
            scans = [self._scan(p, n) for p, n in zip(prompts, negatives, strict=True)]
            todo = [i for i, s in enumerate(scans) if not s.categories]
            assessed = self.classifier.assess([prompts[i] for i in todo])
        except ModerationUnavailable:
            raise
        except Exception as exc:
            raise ModerationUnavailable(f"moderation unavailable: {exc}") from exc
        verdicts: list[Verdict | None] = [self._blocked(s) if s.categories else None for s in scans]
        near = assessed.neighbour_margin > self.classifier.neighbour_margin
        for row, i in enumerate(todo):
            neighbour = None
            if near[row]:
                neighbour = (assessed.neighbour_labels[row], float(assessed.neighbour_margin[row]))
            verdicts[i] = self._classified(assessed.head[row], scans[i], neighbour)
        return verdicts  # type: ignore[return-value]

    def check_image(self, image: Image.Image) -> Verdict:
        """Moderate one generated image (stage "image")."""
        self._require("image")
        nsfw = self.image.score(image)
        scores = {"sexual": round(nsfw, 4)}
        if nsfw < self.image.threshold:
            return Verdict(True, "image", scores=scores, moderator_version=self.version)
        return Verdict(
            allowed=False,
            stage="image",
            categories=("sexual",),
            scores=scores,
            reason=refusal_reason("generated image", ("sexual",)),
            moderator_version=self.version,
        )

    def _scan(self, prompt: str, negative_prompt: str) -> BlocklistResult:
        """Blocklist scan of the prompt; a negative prompt that strips clothing counts as sexual."""
        found = self.blocklist.scan(prompt)
        if negative_prompt and self.blocklist.removes_clothing(negative_prompt):
            cats = {*found.categories, "sexual"}
            if found.mentions_minor:
                cats.add("sexual/minors")
            terms = (*found.matched_terms, "negative prompt: clothing")
            borderline = tuple(c for c in found.borderline_categories if c not in cats)
            found = replace(
                found,
                categories=order_categories(cats),
                matched_terms=terms,
                suggestive=True,
                borderline_categories=borderline,
            )
        return found

    def _blocked(self, found: BlocklistResult) -> Verdict:
        """Refusal by the blocklist stage."""
        return refusal_verdict(found, self.version)

    @staticmethod
    def classifier_may_refuse(found: BlocklistResult) -> bool:
        """Whether the English-only classifier may refuse this prompt on its own.

        The hook for other languages (docs/moderation.md, "Other languages"): a prompt the
        detector is confident is not English (``found.classifier_competent`` is False) is one
        the classifier cannot read, so its scores say nothing; the blocklist of the prompt's
        language judges it. Today such a prompt is allowed by this stage (with its scores
        kept); with graded verdicts it can be guarded instead.
        """
        return found.classifier_competent

    def _classified(
        self,
        row: np.ndarray,
        found: BlocklistResult,
        neighbour: tuple[np.ndarray, float] | None = None,
    ) -> Verdict:
        """Verdict of the classifier stage for one prompt the blocklist let through.

        ``neighbour``: (the nearest unsafe exemplar's labels, the margin) when the prompt sits
        closer to known unsafe prompts than to benign ones (safety/classifier.py); its
        categories are added and the log gets the margin as evidence.
        """
        thresholds = self.classifier.thresholds
        flagged = {c for c, s, t in zip(CATEGORIES, row, thresholds, strict=True) if s >= t}
        evidence: tuple[str, ...] = ()
        if neighbour is not None:
            labels, margin = neighbour
            flagged |= {c for c, hit in zip(CATEGORIES, labels, strict=True) if hit}
            evidence = (f"close to known unsafe prompts (margin {margin:.3f})",)
        sexual = CATEGORIES.index("sexual")
        minor_bar = thresholds[sexual] * self.classifier.minor_factor
        # The minors head alone fires on any child in a prompt-style caption: it must come with
        # some sexual signal. A minor mentioned with a half-threshold sexual score is refused.
        sexual_signal = row[sexual] >= minor_bar or found.suggestive or "sexual" in flagged
        if not sexual_signal:
            flagged.discard("sexual/minors")
        if found.mentions_minor and sexual_signal:
            flagged.add("sexual/minors")
        scores = {c: round(float(s), 4) for c, s in zip(CATEGORIES, row, strict=True)}
        if not flagged or not self.classifier_may_refuse(found):
            return Verdict(True, "classifier", scores=scores, moderator_version=self.version)
        categories = order_categories(flagged)
        return Verdict(
            allowed=False,
            stage="classifier",
            categories=categories,
            scores=scores,
            matched_terms=evidence,
            reason=refusal_reason("prompt", categories),
            moderator_version=self.version,
        )
