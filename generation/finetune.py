"""``python -m generation finetune``: LoRA on a canvas-shapes base from an imagefolder dataset.

The adapter (peft, on the attention projections and the caption projection) is saved as
``pytorch_lora_weights.safetensors`` with a model card and ``version.json`` into the registry.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from .errors import GenerationError
from .versions import NAME_PATTERN

DEFAULT_TARGETS = (
    "to_q,to_k,to_v,to_out.0,class_embedding.linear_1,class_embedding.linear_2,time_emb_proj"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``finetune``."""
    p = argparse.ArgumentParser(prog="python -m generation finetune")
    p.add_argument("--data", required=True, help="imagefolder: images + metadata.jsonl")
    p.add_argument("--base", default="canvas-shapes", help="base version to adapt")
    p.add_argument("--name", required=True, help="name of the new version")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated module names")
    p.add_argument("--validation-every", type=int, default=200)
    p.add_argument("--validation-steps", type=int, default=25, help="sampling steps")
    p.add_argument("--validation-prompt", action="append", default=None)
    p.add_argument("--model-dir", default="instance/models")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def check_args(args: argparse.Namespace, registry) -> None:
    """Reject bad arguments before any heavy work."""
    if not NAME_PATTERN.match(args.name):
        raise GenerationError(
            f"--name {args.name!r}: use lower-case letters, digits, '.', '_', '-'"
        )
    if args.name in registry.names():
        raise GenerationError(f"--name {args.name!r}: a version with this name already exists")
    base = registry.get(args.base)
    if base.kind != "base":
        raise GenerationError(f"--base {args.base!r} is an adapter; fine-tune a base version")
    if args.resolution != 32:
        raise GenerationError("--resolution: canvas-shapes bases are trained at 32 only")
    for flag in ("steps", "rank", "batch_size"):
        if getattr(args, flag) < 1:
            raise GenerationError(f"--{flag.replace('_', '-')} must be at least 1")


def log_validation(pipe, prompts: list[str], seed: int, steps: int, path: Path) -> None:
    """Sample the validation prompts with fixed seeds and save them side by side."""
    import torch

    from .evaluate import contact_sheet

    gens = [torch.Generator("cpu").manual_seed(seed + i) for i in range(len(prompts))]
    pipe.unet.eval()
    images = pipe(
        prompt=prompts, generator=gens, num_inference_steps=steps, guidance_scale=3.0
    ).images
    pipe.unet.train()
    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(images, str(path), columns=len(prompts), scale=4)


def write_card(folder: Path, meta: dict) -> None:
    """MODEL_CARD.md for an adapter version."""
    curve = "\n".join(f"| {s} | {loss:.4f} |" for s, loss in meta["loss_curve"])
    params = "\n".join(f"- {k}: `{v}`" for k, v in meta["params"].items())
    text = f"""# {meta["name"]} (LoRA adapter on {meta["parent"]})

- Base version: `{meta["parent"]}`
- Dataset: `{meta["dataset"]}` ({meta["dataset_images"]} images), hash `{meta["dataset_hash"]}`
- Command: `{meta["command"]}`
- Training wall time: {meta["train_minutes"]} min on CPU

## Parameters
{params}

## Loss curve (mean of 25 steps)
| step | loss |
|---|---|
{curve}
"""
    (folder / "MODEL_CARD.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Fine-tune, save the adapter into the registry, report where it went."""
    args = parse_args(argv)
    from .versions import Registry

    registry = Registry(args.model_dir)
    check_args(args, registry)
    import numpy as np
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from tqdm import tqdm

    from textencoder import shared_text_encoder

    from . import loaders
    from .canvas_model import PROMPT_TOKENS, pooled
    from .datasets import load_imagefolder
    from .pipeline import CanvasShapesPipeline
    from .versions import write_metadata

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()

    # 1. Data and caption states.
    data = load_imagefolder(args.data, args.resolution)
    pixels = torch.from_numpy(data.images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    captions = sorted(set(data.captions))
    encoder = shared_text_encoder()
    states = encoder.token_states(captions, PROMPT_TOKENS)
    empty = encoder.token_states([""], PROMPT_TOKENS)[0]
    label = torch.tensor([captions.index(c) for c in data.captions])

    # 2. Base pipeline with a fresh LoRA adapter.
    pipe = loaders.load_canvas(registry, registry.get(args.base), "cpu", encoder)
    unet = pipe.unet
    unet.requires_grad_(False)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unet.add_adapter(
        LoraConfig(
            r=args.rank, lora_alpha=args.rank, init_lora_weights="gaussian", target_modules=targets
        )
    )
    unet.train()
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    scheduler = pipe.scheduler
    alphas = scheduler.alphas_cumprod
    out = Path(args.model_dir) / args.name
    prompts = args.validation_prompt or list(dict.fromkeys(data.captions))[:4]

    # 3. Training loop (same objective as the base: v-prediction, min-SNR-5, 10% empty captions).
    losses, window = [], []
    for step in tqdm(range(args.steps), desc=f"finetune {args.name}"):
        rng = np.random.default_rng([args.seed, step])
        idx = torch.from_numpy(rng.integers(0, len(pixels), args.batch_size))
        x0 = pixels[idx]
        cond = states[label[idx]].clone()
        cond[torch.from_numpy(rng.random(args.batch_size) < 0.1)] = empty
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(
            0, scheduler.config.num_train_timesteps, (args.batch_size,), generator=gen
        )
        snr = alphas[t] / (1 - alphas[t])
        weight = snr.clamp(max=5.0) / (snr + 1)
        pred = unet(scheduler.add_noise(x0, noise, t), t, cond, class_labels=pooled(cond)).sample
        err = ((pred - scheduler.get_velocity(x0, noise, t)) ** 2).mean(dim=(1, 2, 3))
        loss = (weight * err).mean()
        for group in optimizer.param_groups:  # short warm-up, then constant
            group["lr"] = args.lr * min(1.0, (step + 1) / 30)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        if len(window) == 25:
            losses.append([step + 1, round(sum(window) / 25, 5)])
            window = []
        if args.validation_every and (step + 1) % args.validation_every == 0:
            path = out / "validation" / f"step-{step + 1:05d}.png"
            log_validation(pipe, prompts, args.seed, args.validation_steps, path)

    # 4. Save adapter, card and version metadata into the registry.
    out.mkdir(parents=True, exist_ok=True)
    CanvasShapesPipeline.save_lora_weights(
        str(out), unet_lora_layers=get_peft_model_state_dict(unet), safe_serialization=True
    )
    argv_used = argv if argv is not None else sys.argv[2:]
    meta = {
        "name": args.name,
        "parent": args.base,
        "dataset": str(args.data),
        "dataset_images": len(pixels),
        "dataset_hash": data.content_hash,
        "command": "python -m generation finetune " + shlex.join(argv_used),
        "train_minutes": round((time.time() - t_start) / 60, 1),
        "params": {k: v for k, v in vars(args).items() if k not in ("data", "name", "model_dir")},
        "loss_curve": losses,
    }
    write_card(out, meta)
    write_metadata(
        out,
        args.name,
        "adapter",
        args.base,
        **{k: meta[k] for k in meta if k not in ("name", "parent")},
    )
    print(json.dumps({"version": args.name, "path": str(out), "minutes": meta["train_minutes"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
