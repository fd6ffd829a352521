"""The generation boundary: load once, generate many (cog's setup/predict shape).

>>> gen = Generator()            # cheap: nothing heavy is imported
>>> gen.load()                   # loads the active version
>>> gen.generate(GenerationRequest("two red circles on a white background", seed=1))
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence

from .errors import InvalidGenerationRequest, UnknownVersion
from .types import (
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelLimits,
    ProgressCallback,
)
from .versions import DEFAULT_VERSION, Registry

# 32-bit seeds: every seed we return can be sent back (JSON-safe, fits the API's bound).
MAX_SEED = 2**32 - 1
MAX_GUIDANCE = 30.0


class Generator:
    """Turns frozen GenerationRequests into GenerationResults with one loaded model."""

    def __init__(
        self,
        model: str | None = None,
        model_dir: str | os.PathLike = "instance/models",
        device: str | None = None,
        text_encoder=None,
        registry: Registry | None = None,
    ) -> None:
        self.model = model or DEFAULT_VERSION
        self.external = self.model != DEFAULT_VERSION
        self.registry = registry or Registry(model_dir)
        self._device = device
        self._text_encoder = text_encoder
        self._pipe = None
        self._base: str | None = None
        self._loaded_adapters: set[str] = set()
        self._current: str | None = None
        self._lock = threading.RLock()

    # -- state -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether ``load`` has run."""
        return self._pipe is not None

    @property
    def device(self) -> str:
        """The torch device generation runs on (chosen on first use)."""
        if self._device is None:
            from .loaders import pick_device

            self._device = pick_device()
        return self._device

    @property
    def active_version(self) -> str:
        """The version a request without ``version`` gets."""
        return self.model if self.external else self.registry.active

    @property
    def limits(self) -> ModelLimits:
        """Sizes, defaults and bounds of the model (known without loading it)."""
        from .loaders import CANVAS_LIMITS, external_limits

        return external_limits(self.model, self._pipe) if self.external else CANVAS_LIMITS

    @property
    def text_encoder(self):
        """The MiniLM TextEncoder canvas-shapes is conditioned on (``textencoder``).

        The web app passes the one it also gives to moderation; without one, the process-wide
        default is used. External checkpoints bring their own CLIP encoder inside the pipeline.
        """
        if self._text_encoder is None:
            from textencoder import shared_text_encoder

            self._text_encoder = shared_text_encoder()
        return self._text_encoder

    def versions(self) -> list[str]:
        """Names of the versions this generator can serve."""
        return [self.model] if self.external else self.registry.names()

    # -- loading -----------------------------------------------------------------------
    def load(self) -> Generator:
        """Load the model and the active version (idempotent)."""
        with self._lock:
            if self._pipe is None:
                from . import loaders

                if self.external:
                    self._pipe = loaders.load_external(self.model, self.device)
                else:
                    base = self.registry.chain(self.active_version)[0]
                    self.text_encoder.load()
                    self._pipe = loaders.load_canvas(
                        self.registry, base, self.device, self.text_encoder
                    )
                    self._base = base.name
            self._use_version(self.active_version)
        return self

    def _use_version(self, name: str) -> None:
        """Switch the loaded pipeline to a version: its base, plus its adapter if any."""
        if self.external or name == self._current:
            return
        from . import loaders

        chain = self.registry.chain(name)
        if chain[0].name != self._base:
            self._pipe = loaders.load_canvas(
                self.registry, chain[0], self.device, self.text_encoder
            )
            self._base, self._loaded_adapters = chain[0].name, set()
        adapters = [v for v in chain[1:] if v.kind == "adapter"]
        for adapter in adapters:
            if adapter.name not in self._loaded_adapters:
                loaders.load_adapter(self.registry, self._pipe, adapter)
                self._loaded_adapters.add(adapter.name)
        if adapters:
            self._pipe.enable_lora()
            self._pipe.set_adapters([a.name for a in adapters])
        elif self._loaded_adapters:
            self._pipe.disable_lora()
        self._current = name

    def unload_adapters(self) -> None:
        """Remove every loaded LoRA adapter; the base weights are restored exactly."""
        with self._lock:
            if self._loaded_adapters:
                self._pipe.unload_lora_weights()
                self._loaded_adapters = set()
            self._current = self._base if not self.external else self._current

    # -- requests ----------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> GenerationRequest:
        """Check a request against the model's limits; returns it with defaults filled.

        Raises:
            InvalidGenerationRequest: naming the field; nothing is silently clamped.
        """
        lim = self.limits
        if not isinstance(req.prompt, str) or not req.prompt.strip():
            raise InvalidGenerationRequest("prompt must not be empty", "prompt")
        if len(req.prompt) > lim.max_prompt_chars:
            raise InvalidGenerationRequest(
                f"prompt is longer than {lim.max_prompt_chars} characters", "prompt"
            )
        if (
            not isinstance(req.negative_prompt, str)
            or len(req.negative_prompt) > lim.max_prompt_chars
        ):
            raise InvalidGenerationRequest(
                f"negative_prompt must be a string of at most {lim.max_prompt_chars} characters",
                "negative_prompt",
            )
        if not _is_int(req.n) or not 1 <= req.n <= lim.max_n:
            raise InvalidGenerationRequest(f"n must be between 1 and {lim.max_n}", "n")
        width = lim.default_size[0] if req.width is None else req.width
        height = lim.default_size[1] if req.height is None else req.height
        if (width, height) not in lim.sizes:
            allowed = ", ".join(f"{w}x{h}" for w, h in lim.sizes)
            field = "width" if req.width is not None else "height"
            raise InvalidGenerationRequest(
                f"size {width}x{height} is not supported by this model (supported: {allowed})",
                field,
            )
        steps = lim.default_steps if req.steps is None else req.steps
        if not _is_int(steps) or not 1 <= steps <= lim.max_steps:
            raise InvalidGenerationRequest(f"steps must be between 1 and {lim.max_steps}", "steps")
        guidance = lim.default_guidance_scale if req.guidance_scale is None else req.guidance_scale
        if (
            not isinstance(guidance, int | float)
            or not math.isfinite(guidance)
            or not 0 <= guidance <= MAX_GUIDANCE
        ):
            raise InvalidGenerationRequest(
                f"guidance_scale must be between 0 and {MAX_GUIDANCE:g}", "guidance_scale"
            )
        if req.seed is not None and (not _is_int(req.seed) or not 0 <= req.seed <= MAX_SEED):
            raise InvalidGenerationRequest(f"seed must be between 0 and {MAX_SEED}", "seed")
        version = req.version or self.active_version
        if version not in self.versions():
            raise InvalidGenerationRequest(f"unknown model version {version!r}", "version")
        return GenerationRequest(
            prompt=req.prompt,
            negative_prompt=req.negative_prompt,
            n=req.n,
            width=width,
            height=height,
            steps=steps,
            guidance_scale=float(guidance),
            seed=req.seed,
            version=version,
        )

    def batch_key(self, req: GenerationRequest) -> tuple:
        """Requests with equal keys can run as one pipeline call; ``req`` comes from validate."""
        return (req.version, req.width, req.height, req.steps, req.guidance_scale)

    def generate(
        self,
        req: GenerationRequest,
        progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> GenerationResult:
        """Run one request; ``progress(step, total)`` after every denoising step.

        Raises:
            InvalidGenerationRequest, GenerationCancelled, ModelLoadError.
        """
        return self.generate_batch([req], progress, should_cancel)[0]

    def generate_batch(
        self,
        reqs: Sequence[GenerationRequest],
        progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[GenerationResult]:
        """Run compatible requests in one pipeline call; each image keeps its own seed."""
        if not reqs:
            return []
        checked = [self.validate(r) for r in reqs]
        key = self.batch_key(checked[0])
        if any(self.batch_key(r) != key for r in checked[1:]):
            raise InvalidGenerationRequest("requests in a batch must be compatible", "batch")
        version, width, height, steps, guidance = key
        seeds = [
            [
                (r.seed + i) % (MAX_SEED + 1)
                if r.seed is not None
                else secrets.randbelow(MAX_SEED + 1)
                for i in range(r.n)
            ]
            for r in checked
        ]
        prompts = [r.prompt for r, s in zip(checked, seeds, strict=True) for _ in s]
        negatives = [r.negative_prompt for r, s in zip(checked, seeds, strict=True) for _ in s]
        flat_seeds = [seed for group in seeds for seed in group]

        with self._lock:
            t0 = time.perf_counter()
            self.load()
            self._use_version(version)
            t1 = time.perf_counter()
            images = self._run(
                prompts,
                negatives,
                flat_seeds,
                steps,
                guidance,
                width,
                height,
                progress,
                should_cancel,
            )
            t2 = time.perf_counter()

        timings = {"load_s": t1 - t0, "generate_s": t2 - t1, "per_image_s": (t2 - t1) / len(images)}
        results, start = [], 0
        for group in seeds:
            batch = images[start : start + len(group)]
            start += len(group)
            results.append(
                GenerationResult(
                    images=tuple(GeneratedImage(im, s) for im, s in zip(batch, group, strict=True)),
                    version=version,
                    timings=dict(timings),
                )
            )
        return results

    def _run(self, prompts, negatives, seeds, steps, guidance, width, height, progress, cancel):
        """One pipeline call under ``torch.inference_mode``, canvas-shapes or a checkpoint alike.

        Progress and cancellation ride on diffusers' ``callback_on_step_end``, which every
        pipeline we load takes (canvas-shapes' own included).
        """
        import torch

        from .errors import GenerationCancelled

        def on_step_end(pipe, step: int, timestep, tensors: dict) -> dict:
            """After each denoising step: report progress, then stop if nobody wants the result."""
            if progress is not None:
                progress(step + 1, steps)
            if cancel is not None and cancel():
                raise GenerationCancelled(f"cancelled at step {step + 1} of {steps}")
            return tensors

        if cancel is not None and cancel():
            raise GenerationCancelled("cancelled before the first step")
        # Generators live on the CPU so a seed means the same noise whatever the device.
        gens = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        with torch.inference_mode():
            return self._pipe(
                prompt=prompts,
                negative_prompt=negatives if any(negatives) else None,
                generator=gens,
                num_inference_steps=steps,
                guidance_scale=guidance,
                height=height,
                width=width,
                callback_on_step_end=on_step_end,
            ).images


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["Generator", "UnknownVersion"]
