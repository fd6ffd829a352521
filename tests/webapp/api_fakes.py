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
from safety.verdict import Verdict

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


class FakeGenerator:
    """One fixed version, "fake-1"; a prompt with 'red-flag' draws pure red (the NSFW stand-in)."""

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
        colour = (255, 0, 0) if "red-flag" in req.prompt else (20, 120, 200)
        base = 1000 if req.seed is None else req.seed
        images = tuple(
            GeneratedImage(PILImage.new("RGB", (req.width, req.height), colour), base + i)
            for i in range(req.n)
        )
        return GenerationResult(images=images, version=req.version, timings={})


class FakeModeration:
    """Refuses prompts with 'forbidden' (violence) and pure red images (sexual)."""

    version = "fake-mod-1"

    def __init__(self) -> None:
        self.down = False

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
        return Verdict(True, "classifier", moderator_version=self.version)

    def check_image(self, image) -> Verdict:
        if self.down:
            raise ModerationUnavailable("image classifier not loaded")
        if image.getpixel((0, 0)) == (255, 0, 0):
            return Verdict(
                False, "image", ("sexual",), {"nsfw": 0.99}, (), "nsfw score", self.version
            )
        return Verdict(True, "image", moderator_version=self.version)
