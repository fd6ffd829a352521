"""Fixtures for generation tests: the real shipped model, and a tiny random SD checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def torch_threads():
    """One torch thread: the suite shares a small CPU with other work."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def generator(tmp_path_factory):
    """The default Generator on the shipped canvas-shapes weights, loaded once."""
    from generation import Generator

    return Generator(model_dir=tmp_path_factory.mktemp("models")).load()


@pytest.fixture
def fresh_generator(tmp_path, generator):
    """A Generator with its own empty model dir, sharing the already-loaded text encoder."""
    from generation import Generator

    return Generator(model_dir=tmp_path / "models", text_encoder=generator.text_encoder)


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory):
    """A random-weight Stable Diffusion checkpoint saved with save_pretrained."""
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd") / "model")


def _bytes_unicode() -> list[str]:
    """The printable stand-ins CLIP's byte-level BPE uses for the 256 byte values."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def tiny_tokenizer():
    """A CLIP tokenizer with a byte-level vocabulary and no merges (no hub needed)."""
    from transformers import CLIPTokenizer

    chars = _bytes_unicode()
    tokens = ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_tiny_sd(folder: Path) -> Path:
    """Save a random-weight SD 1.x-style pipeline (UNet (4, 8), tiny VAE, tiny CLIP)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=8,
        norm_num_groups=2,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=(4, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=2,
        sample_size=32,
    )
    tokenizer = tiny_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=8,
            intermediate_size=16,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def build_tiny_lora(model: Path, out: Path, seed: int = 1) -> Path:
    """A random LoRA (rank 2, on the attention projections) for ``build_tiny_sd``'s UNet.

    peft's ``init_lora_weights=False`` makes both LoRA matrices random, so the adapter visibly
    changes the output; the file is what diffusers' ``save_lora_weights`` writes.
    """
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(str(model / "unet"))
    torch.manual_seed(seed)
    targets = ["to_q", "to_k", "to_v", "to_out.0"]
    unet.add_adapter(LoraConfig(r=2, lora_alpha=2, init_lora_weights=False, target_modules=targets))
    out.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        str(out.parent),
        unet_lora_layers=get_peft_model_state_dict(unet),
        weight_name=out.name,
        safe_serialization=True,
    )
    return out
