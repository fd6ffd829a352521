"""Architecture and noise schedule of canvas-shapes (pixel-space, MiniLM cross-attention)."""

from __future__ import annotations

from typing import Any

from textencoder import HIDDEN_SIZE

from .shapes import RESOLUTION

PROMPT_TOKENS = 16  # MiniLM token states per caption: canvas-shapes captions are short

UNET_CONFIG: dict[str, Any] = {
    "sample_size": RESOLUTION,
    "in_channels": 3,
    "out_channels": 3,
    "layers_per_block": 1,
    "block_out_channels": (32, 64, 64),
    # Attention only at 8x8 (and the mid block): at 16x16 it tripled the CPU step time.
    "down_block_types": ("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    "cross_attention_dim": HIDDEN_SIZE,
    "attention_head_dim": 8,
    "norm_num_groups": 16,
    # The mean-pooled caption state joins the time embedding, so every ResNet block (also at
    # 32x32, where there is no attention) sees colour, shape and count from the first step.
    "class_embed_type": "projection",
    "projection_class_embeddings_input_dim": HIDDEN_SIZE,
}


def pooled(states):
    """Mean over tokens of caption token states: the UNet's global conditioning vector."""
    return states.mean(dim=1)


SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "v_prediction",
    "clip_sample": True,
    "clip_sample_range": 1.0,
}


def build_unet():
    """A freshly initialised canvas-shapes UNet."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**UNET_CONFIG)


def build_scheduler():
    """The DDPM scheduler canvas-shapes is trained and sampled with."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(**SCHEDULER_CONFIG)
