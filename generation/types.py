"""Typed values that cross the generation boundary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PIL is cheap, but keep the boundary free of heavy imports.
    from PIL.Image import Image


@dataclass(frozen=True)
class GenerationRequest:
    """One text-to-image request; ``None`` fields take the model's defaults."""

    prompt: str
    negative_prompt: str = ""
    n: int = 1
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    version: str | None = None
    sampler: str | None = None  # a name from generation.samplers; None: the model's own
    lora_scale: float | None = None  # weight of an adapter version's LoRA (1.0 when omitted)


@dataclass(frozen=True)
class GeneratedImage:
    """One output image and the seed that reproduces it."""

    image: Image
    seed: int


@dataclass(frozen=True)
class GenerationResult:
    """What a request produced, with the model version and timings in seconds."""

    images: tuple[GeneratedImage, ...]
    version: str
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelLimits:
    """Bounds the loaded model accepts; the web layer uses them for its schema."""

    sizes: tuple[tuple[int, int], ...]
    default_size: tuple[int, int]
    default_steps: int
    max_steps: int
    max_n: int
    default_guidance_scale: float
    max_prompt_chars: int = 1000
    samplers: tuple[str, ...] = ()  # the sampler names this model accepts


@dataclass(frozen=True)
class MemoryOptions:
    """Operator settings that trade speed for accelerator memory (diffusers' own switches).

    ``cpu_offload``: ``enable_model_cpu_offload`` (one component on the accelerator at a
    time). ``attention_slicing``: ``"off"``, ``"auto"``, ``"max"`` or a slice size.
    ``variant``: load ``*.<variant>.safetensors`` files, e.g. ``"fp16"``.
    """

    cpu_offload: bool = False
    vae_tiling: bool = False
    vae_slicing: bool = False
    attention_slicing: str = "off"
    variant: str | None = None


# Called after each denoising step with (step_done, total_steps).
ProgressCallback = Callable[[int, int], None]
