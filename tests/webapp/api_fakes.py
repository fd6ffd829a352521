"""Stand-ins for the model and moderation, for web tests that are about neither.

Both satisfy ``webapp.interfaces`` (tests/webapp/test_interfaces.py checks it). The fake model
draws flat colours instead of running a pipeline; it validates and batches requests with the
real ``Generator``'s own methods. The end-to-end tests in tests/e2e use the real default model
and the real moderation.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PIL import Image as PILImage

from generation.errors import GenerationCancelled
from generation.generator import Generator
from generation.types import GeneratedImage, GenerationResult, ModelLimits
from generation.versions import Registry
from safety.errors import ModerationUnavailable
from safety.verdict import Safeguards, Verdict

LIMITS = ModelLimits(
    sizes=((32, 32), (64, 64)),
    default_size=(32, 32),
    default_steps=4,
    max_steps=50,
    max_n=4,
    default_guidance_scale=3.0,
    max_prompt_chars=200,
    samplers=("euler", "euler_a"),
)


RED, PINK, BLUE = (255, 0, 0), (255, 170, 200), (20, 120, 200)
# The image check's stand-in scores: red is clearly unsafe, pink borderline (it passes the
# default threshold but not a guarded job's stricter one), anything else safe.
IMAGE_SCORES = {RED: 0.99, PINK: 0.3}
IMAGE_THRESHOLD, GUARD_IMAGE_THRESHOLD = 0.4, 0.2
SAFETY_NEGATIVE = "nudity, nsfw, sexual content"


class FakeGenerator:
    """One fixed version, "fake-1"; 'red-flag' in a prompt draws pure red, 'pink' pink.

    ``requests`` holds every request a pipeline call got, as it got it.
    """

    validate = Generator.validate
    batch_key = Generator.batch_key

    def __init__(self, model_dir: Path, step_s: float = 0.0) -> None:
        self.model, self.external = "fake-1", True  # like a checkpoint from outside
        self.registry = Registry(model_dir, shipped_dir=None)
        self.ready, self.active_version, self.limits = True, "fake-1", LIMITS
        self.device = "cpu"
        self.version_names = ["fake-1"]
        self.step_s = step_s
        self.batches: list[int] = []
        self.requests: list = []
        self.started = threading.Event()

    def versions(self) -> list[str]:
        return list(self.version_names)

    def device_memory(self) -> dict[str, int]:
        return {}

    def load(self) -> FakeGenerator:
        self.ready = True
        return self

    def generate_batch(self, reqs, progress=None, should_cancel=None) -> list[GenerationResult]:
        self.batches.append(len(reqs))
        self.requests.extend(reqs)
        self.started.set()
        total = reqs[0].steps
        for step in range(total):
            if should_cancel is not None and should_cancel():
                raise GenerationCancelled("cancelled")
            time.sleep(self.step_s)
            if progress is not None:
                progress(step + 1, total)
        return [self._result(req) for req in reqs]

    def _result(self, req) -> GenerationResult:
        colour = RED if "red-flag" in req.prompt else PINK if "pink" in req.prompt else BLUE
        base = 1000 if req.seed is None else req.seed
        images = tuple(
            GeneratedImage(PILImage.new("RGB", (req.width, req.height), colour), base + i)
            for i in range(req.n)
        )
        return GenerationResult(images=images, version=req.version, timings={})


class FakeModeration:
    """Refuses prompts with 'forbidden' (violence), guards 'borderline' ones (sexual).

    Images are scored by IMAGE_SCORES and refused at the threshold (a guarded job's stricter
    one when given); ``thresholds`` holds the threshold each image check was asked to apply.
    """

    version = "fake-mod-1"

    def __init__(self) -> None:
        self.down = False
        self.thresholds: list[float | None] = []

    def load(self, parts: tuple[str, ...] = ()) -> None:
        pass

    def status(self) -> dict[str, str]:
        return {"blocklist": "ready"}

    def check_prompt(self, prompt: str, negative_prompt: str = "") -> Verdict:
        if self.down:
            raise ModerationUnavailable("classifier not loaded")
        if "forbidden" in prompt:
            return Verdict(
                False,
                "blocklist",
                ("violence",),
                {"violence": 1.0},
                ("forbidden",),
                "blocklisted term",
                self.version,
            )
        if "borderline" in prompt:
            return Verdict(
                True,
                "classifier",
                ("sexual",),
                {"sexual": 0.6},
                reason="borderline",
                moderator_version=self.version,
                action="guard",
                safeguards=Safeguards(SAFETY_NEGATIVE, GUARD_IMAGE_THRESHOLD),
                language="en",
            )
        return Verdict(True, "classifier", moderator_version=self.version)

    def check_image(self, image, threshold: float | None = None) -> Verdict:
        if self.down:
            raise ModerationUnavailable("image classifier not loaded")
        self.thresholds.append(threshold)
        limit = IMAGE_THRESHOLD if threshold is None else min(threshold, IMAGE_THRESHOLD)
        score = IMAGE_SCORES.get(image.getpixel((0, 0)), 0.01)
        if score >= limit:
            return Verdict(
                False, "image", ("sexual",), {"nsfw": score}, (), "nsfw score", self.version
            )
        return Verdict(True, "image", {"nsfw": score}, moderator_version=self.version)
