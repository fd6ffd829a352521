"""Heavy loading: device choice, the canvas-shapes pipeline, external diffusers checkpoints."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .errors import ModelLoadError
from .samplers import SAMPLERS, samplers_for
from .types import MemoryOptions, ModelLimits
from .versions import Registry, Version

log = logging.getLogger(__name__)
LORA_FILE = "pytorch_lora_weights.safetensors"

CANVAS_LIMITS = ModelLimits(
    sizes=((32, 32),),
    default_size=(32, 32),
    default_steps=25,
    max_steps=250,
    max_n=16,
    default_guidance_scale=3.0,
    # Karras spacing is degenerate on canvas-shapes' cosine schedule (sigma_max ~ 20,000: most
    # steps land on one timestep); the others keep the evaluation at 100% (docs/generation.md).
    samplers=tuple(name for name in SAMPLERS if not name.endswith("_karras")),
)


def pick_device(device: str | None = None, slot: int = 0) -> str:
    """The torch device of one serving process.

    An explicit device (``cpu``, ``cuda:1``, ``mps``) wins. ``auto`` (or None) takes CUDA,
    then MPS, then the CPU; on several GPUs, CUDA without an index means GPU ``slot`` modulo
    the GPUs visible, so processes numbered 0..N-1 (gunicorn workers) land on distinct GPUs.
    """
    import torch

    if device and device not in {"auto", "cuda"}:
        return device
    if torch.cuda.is_available():
        return f"cuda:{slot % max(torch.cuda.device_count(), 1)}"
    if device == "cuda":
        raise ModelLoadError("SAFECANVAS_DEVICE=cuda, but torch sees no CUDA device")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def dtype_for(device: str):
    """fp16 on accelerators, fp32 on CPU."""
    import torch

    return torch.float32 if device == "cpu" else torch.float16


def _file_error(exc: Exception, folder: Path) -> ModelLoadError:
    files = ", ".join(str(p) for p in sorted(folder.rglob("*.safetensors"))) or str(folder)
    return ModelLoadError(f"cannot load weights {files}: {exc}")


def load_canvas(
    registry: Registry, base: Version, device: str, encoder, memory: MemoryOptions | None = None
):
    """The canvas-shapes pipeline for a base version, on ``device``."""
    from diffusers import DDPMScheduler, UNet2DConditionModel

    from .pipeline import CanvasShapesPipeline

    registry.verify(base)
    if memory is not None and memory.variant:
        log.warning("canvas-shapes has one set of weights; variant %r is ignored", memory.variant)
    try:
        unet = UNet2DConditionModel.from_pretrained(
            str(base.path / "unet"), use_safetensors=True, dtype=dtype_for(device)
        )
        scheduler = DDPMScheduler.from_pretrained(str(base.path / "scheduler"))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise _file_error(exc, base.path) from exc
    pipe = CanvasShapesPipeline(unet=unet.eval(), scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    pipe.encoder = encoder
    return apply_memory_options(pipe, memory or MemoryOptions(), device)


def load_adapter(registry: Registry, pipe, adapter: Version) -> None:
    """Load a LoRA adapter version into the pipeline under its own name."""
    registry.verify(adapter)
    weights = adapter.path / LORA_FILE
    if not weights.is_file():
        raise ModelLoadError(f"adapter {adapter.name!r}: missing weight file {weights}")
    if not hasattr(pipe, "load_lora_weights"):
        raise ModelLoadError(f"adapter {adapter.name!r}: {type(pipe).__name__} takes no LoRA")
    try:
        # use_safetensors=True: diffusers then never falls back to unpickling a .bin file.
        pipe.load_lora_weights(
            str(adapter.path),
            weight_name=LORA_FILE,
            use_safetensors=True,
            adapter_name=adapter.name,
        )
    except Exception as exc:  # safetensors, peft and diffusers raise a variety of types
        raise ModelLoadError(f"cannot load adapter weights {weights}: {exc}") from exc


def load_external(model: str, device: str, memory: MemoryOptions | None = None):
    """Any diffusers text-to-image checkpoint (folder or hub id) via the auto pipeline."""
    from diffusers import AutoPipelineForText2Image

    memory = memory or MemoryOptions()
    variant = {"variant": memory.variant} if memory.variant else {}
    try:
        pipe = AutoPipelineForText2Image.from_pretrained(
            model, dtype=dtype_for(device), use_safetensors=True, **variant
        )
    except Exception as exc:  # hub, config and weight errors all mean "cannot load"
        named = f" (variant {memory.variant!r})" if memory.variant else ""
        raise ModelLoadError(f"cannot load model {model!r}{named}: {exc}") from exc
    if getattr(pipe, "safety_checker", None) is not None:
        # Moderation is SafeCanvas's job (safety/), with verdicts that are logged and explained.
        pipe.safety_checker = None
    pipe.set_progress_bar_config(disable=True)
    return apply_memory_options(pipe, memory, device)


def apply_memory_options(pipe, memory: MemoryOptions, device: str):
    """Place the pipeline on ``device`` with the operator's memory savers; returns it.

    Offloading replaces ``pipe.to(device)``: accelerate's hooks move each component to the
    device when it runs and back to the CPU after (``enable_model_cpu_offload``). Sequential
    (per-layer) offload is not offered: with accelerate 1.15 its hooks fail on our CPU test
    machines, so it could not be tested.
    """
    vae = getattr(pipe, "vae", None)
    if memory.vae_tiling or memory.vae_slicing:
        if vae is None:
            log.warning("VAE tiling/slicing has no effect: %s has no VAE", type(pipe).__name__)
        else:
            if memory.vae_tiling:
                vae.enable_tiling()
            if memory.vae_slicing:
                vae.enable_slicing()
    if memory.attention_slicing != "off":
        size = memory.attention_slicing
        pipe.enable_attention_slicing(int(size) if size.isdigit() else size)
    if not memory.cpu_offload:
        return pipe.to(device)
    if device == "cpu":
        log.warning("model CPU offload on a CPU-only host saves nothing; it is for GPU servers")
    pipe.enable_model_cpu_offload(device=device)
    return pipe


def external_limits(model: str, pipe=None) -> ModelLimits:
    """Limits of an external checkpoint: from the loaded pipeline, else from its configs."""
    folder = Path(model)
    size = 512
    if pipe is not None and getattr(pipe, "unet", None) is not None:
        size = int(pipe.unet.config.sample_size) * int(getattr(pipe, "vae_scale_factor", 8))
        return _limits_for(model, size, type(pipe.scheduler).__name__)
    unet_cfg = folder / "unet" / "config.json"
    vae_cfg = folder / "vae" / "config.json"
    if unet_cfg.is_file():
        sample = json.loads(unet_cfg.read_text()).get("sample_size", 64)
        blocks = 4
        if vae_cfg.is_file():
            blocks = len(json.loads(vae_cfg.read_text()).get("block_out_channels", [0] * 4))
        size = int(sample) * 2 ** (blocks - 1)
    elif "xl" in model.lower():
        size = 1024
    scheduler_cfg = folder / "scheduler" / "scheduler_config.json"
    scheduler = None
    if scheduler_cfg.is_file():
        scheduler = json.loads(scheduler_cfg.read_text()).get("_class_name")
    return _limits_for(model, size, scheduler)


def _limits_for(model: str, size: int, scheduler: str | None) -> ModelLimits:
    """Sizes and defaults for a checkpoint whose native resolution is ``size``."""
    turbo = "turbo" in model.lower()
    sizes = [(size, size)]
    if size >= 256:  # roughly 5:3 landscape and portrait, multiples of 64
        side = (int(size * 1.25) // 64 * 64, int(size * 0.75) // 64 * 64)
        sizes += [side, side[::-1]]
    return ModelLimits(
        sizes=tuple(sizes),
        default_size=(size, size),
        default_steps=1 if turbo else 30,
        max_steps=150,
        max_n=4,
        default_guidance_scale=0.0 if turbo else 7.5,
        samplers=samplers_for(scheduler),
    )
