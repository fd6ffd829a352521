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

from .errors import GenerationError, InvalidGenerationRequest, UnknownVersion
from .samplers import check_sampler
from .types import (
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    MemoryOptions,
    ModelLimits,
    ProgressCallback,
)
from .versions import DEFAULT_VERSION, Registry, Version

# 32-bit seeds: every seed we return can be sent back (JSON-safe, fits the API's bound).
MAX_SEED = 2**32 - 1
MAX_GUIDANCE = 30.0
MAX_LORA_SCALE = 2.0


class Generator:
    """Turns frozen GenerationRequests into GenerationResults with one loaded model."""

    def __init__(
        self,
        model: str | None = None,
        model_dir: str | os.PathLike = "instance/models",
        device: str | None = None,
        text_encoder=None,
        registry: Registry | None = None,
        memory: MemoryOptions | None = None,
        device_slot: int = 0,
    ) -> None:
        self.model = model or DEFAULT_VERSION
        self.external = self.model != DEFAULT_VERSION
        self.registry = registry or Registry(model_dir)
        self.memory = memory or MemoryOptions()
        self._device = device
        self._device_slot = device_slot
        self._text_encoder = text_encoder
        self._pipe = None
        self._scheduler = None  # the checkpoint's own scheduler, for requests without a sampler
        self._base: str | None = None
        self._loaded_adapters: set[str] = set()
        self._current: tuple[str, float | None] | None = None  # (version, lora_scale)
        self._lock = threading.RLock()

    # -- state -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether ``load`` has run."""
        return self._pipe is not None

    @property
    def device(self) -> str:
        """The torch device generation runs on (chosen on first use)."""
        if self._device is None or self._device in {"auto", "cuda"}:
            from .loaders import pick_device

            self._device = pick_device(self._device, self._device_slot)
        return self._device

    @property
    def active_version(self) -> str:
        """The version a request without ``version`` gets."""
        active = self.registry.active
        if self.external and active not in self.versions():
            return self.model  # the registry's default names the embedded model
        return active

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

    def device_memory(self) -> dict[str, int]:
        """Bytes of device memory torch holds on a CUDA device ({} elsewhere or unloaded)."""
        if self._pipe is None or not self.device.startswith("cuda"):
            return {}
        import torch

        return {
            "allocated": int(torch.cuda.memory_allocated(self.device)),
            "reserved": int(torch.cuda.memory_reserved(self.device)),
        }

    def versions(self) -> list[str]:
        """Names of the versions this generator can serve."""
        if not self.external:
            return self.registry.names()
        return [self.model] + [v.name for v in self.registry.list() if self._runs_here(v)]

    def _runs_here(self, version: Version) -> bool:
        """Whether an adapter version sits (through its parents) on the external checkpoint."""
        if version.kind != "adapter":
            return False
        try:
            return self.registry.chain(version.name, base=self.model)[0].parent == self.model
        except GenerationError:  # a broken chain belongs to no model
            return False

    def _adapters(self, name: str) -> list[Version]:
        """The adapter versions to stack for version ``name``, outermost last."""
        if self.external:
            return [] if name == self.model else self.registry.chain(name, base=self.model)
        return [v for v in self.registry.chain(name)[1:] if v.kind == "adapter"]

    # -- loading -----------------------------------------------------------------------
    def load(self) -> Generator:
        """Load the model and the active version (idempotent)."""
        with self._lock:
            if self._pipe is None:
                from . import loaders

                if self.external:
                    self._set_pipe(loaders.load_external(self.model, self.device, self.memory))
                    self._base = self.model
                else:
                    self.text_encoder.load()
                    self._load_canvas_base(self.registry.chain(self.active_version)[0])
            active = self.active_version
            self._use_version(active, 1.0 if self._adapters(active) else None)
        return self

    def _set_pipe(self, pipe) -> None:
        """Adopt a freshly loaded pipeline; nothing is stacked on it yet."""
        self._pipe, self._scheduler = pipe, pipe.scheduler
        self._loaded_adapters, self._current = set(), None

    def _load_canvas_base(self, base: Version) -> None:
        """Load a canvas-shapes base version as the pipeline."""
        from . import loaders

        self._set_pipe(
            loaders.load_canvas(self.registry, base, self.device, self.text_encoder, self.memory)
        )
        self._base = base.name

    def _use_version(self, name: str, lora_scale: float | None) -> None:
        """Switch the pipeline to a version: its base, plus its adapters at ``lora_scale``.

        Adapters stay loaded once used (peft layers; switching is ``set_adapters``), and a base
        request disables them, which gives the base's exact output. Weights come from
        safetensors files only.
        """
        if (name, lora_scale) == self._current:
            return
        from . import loaders

        if not self.external:
            base = self.registry.chain(name)[0]
            if base.name != self._base:
                self._load_canvas_base(base)
        adapters = self._adapters(name)
        for adapter in adapters:
            if adapter.name not in self._loaded_adapters:
                loaders.load_adapter(self.registry, self._pipe, adapter)
                self._loaded_adapters.add(adapter.name)
        if adapters:
            # The requested version's own LoRA takes the request's weight; its parents full.
            weights = [1.0] * (len(adapters) - 1) + [lora_scale]
            self._pipe.enable_lora()
            self._pipe.set_adapters([a.name for a in adapters], adapter_weights=weights)
        elif self._loaded_adapters:
            self._pipe.disable_lora()
        self._current = (name, lora_scale)

    def _use_sampler(self, sampler: str | None) -> None:
        """Give the pipeline the request's sampler (``None``: the checkpoint's own scheduler)."""
        from .samplers import build_scheduler

        if sampler is None:
            self._pipe.scheduler = self._scheduler
        else:  # a fresh scheduler: they keep per-run state (step index, solver history)
            self._pipe.scheduler = build_scheduler(sampler, self._scheduler.config)

    def unload_adapters(self) -> None:
        """Remove every loaded LoRA adapter; the base weights are restored exactly."""
        with self._lock:
            if self._loaded_adapters:
                self._pipe.unload_lora_weights()
                self._loaded_adapters = set()
            self._current = None

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
        check_sampler(req.sampler, lim.samplers, self.external)
        if self.external:
            is_adapter = version != self.model
        else:
            is_adapter = self.registry.get(version).kind == "adapter"
        lora_scale = _check_lora_scale(req.lora_scale, version, is_adapter)
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
            sampler=req.sampler,
            lora_scale=lora_scale,
        )

    def batch_key(self, req: GenerationRequest) -> tuple:
        """Requests with equal keys can run as one pipeline call; ``req`` comes from validate."""
        return (
            req.version,
            req.width,
            req.height,
            req.steps,
            req.guidance_scale,
            req.sampler,
            req.lora_scale,
        )

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
        version, width, height, steps, guidance, sampler, lora_scale = key
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
            self._use_version(version, lora_scale)
            self._use_sampler(sampler)
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
            total = len(pipe.scheduler.timesteps)  # Heun and DPM2 run more timesteps than steps
            if progress is not None:
                progress(step + 1, total)
            if cancel is not None and cancel():
                raise GenerationCancelled(f"cancelled at step {step + 1} of {total}")
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


def _check_lora_scale(scale, version: str, is_adapter: bool) -> float | None:
    """The adapter weight to use: 1.0 by default; only adapter versions take one."""
    if scale is None:
        return 1.0 if is_adapter else None
    if (
        not isinstance(scale, int | float)
        or isinstance(scale, bool)
        or not math.isfinite(scale)
        or not 0 <= scale <= MAX_LORA_SCALE
    ):
        raise InvalidGenerationRequest(
            f"lora_scale must be between 0 and {MAX_LORA_SCALE:g}", "lora_scale"
        )
    if not is_adapter:
        raise InvalidGenerationRequest(
            f"lora_scale applies to LoRA adapter versions; {version!r} is a base model",
            "lora_scale",
        )
    return float(scale)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["Generator", "UnknownVersion"]
