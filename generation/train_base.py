"""Train the canvas-shapes base model on CPU: resumable, deterministic, with EMA.

Objective: v-prediction with min-SNR-5 weighting on a cosine schedule; AdamW with warm-up and
cosine decay; 10% empty captions so classifier-free guidance works. Images are drawn once into
an in-memory pool and caption token states are computed once, so a step is pure UNet work.
Re-running the same command resumes from the last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

DEFAULT_WORK_DIR = "instance/train/canvas-shapes"
DEFAULT_EXPORT_DIR = str(Path(__file__).parent / "models" / "canvas-shapes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``train-base``."""
    p = argparse.ArgumentParser(prog="python -m generation train-base")
    p.add_argument("--steps", type=int, default=8000, help="step budget")
    p.add_argument("--minutes", type=float, default=80.0, help="training wall-clock budget")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--pool-size", type=int, default=24000)
    p.add_argument("--cfg-drop", type=float, default=0.1)
    p.add_argument("--snr-gamma", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    # One thread: on a shared 2-core machine two OpenMP threads ran 2-4x slower.
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint-minutes", type=float, default=4.0)
    p.add_argument("--work-dir", default=DEFAULT_WORK_DIR)
    p.add_argument("--export-dir", default=DEFAULT_EXPORT_DIR)
    p.add_argument("--export-only", action="store_true", help="export the last checkpoint's EMA")
    p.add_argument(
        "--init-from",
        default=None,
        help="start from this version folder's UNet (e.g. the shipped base) instead of scratch",
    )
    p.add_argument(
        "--focus",
        default="",
        help="oversample colour pairs, e.g. 'white:red,*:green=6' (foreground:background, "
        "* any, =WEIGHT for that item)",
    )
    p.add_argument("--focus-weight", type=float, default=3.0, help="sampling weight of --focus")
    args = p.parse_args(argv)
    try:
        args.focus_pairs = parse_focus(args.focus)
    except ValueError as exc:
        p.error(str(exc))
    return args


def parse_focus(text: str) -> list[tuple[str, str, float | None]]:
    """'white:red,*:green=6' -> [('white', 'red', None), ('*', 'green', 6.0)]; names checked.

    An item without ``=WEIGHT`` takes ``--focus-weight``.
    """
    from .shapes import BACKGROUNDS, COLOURS

    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        spec, _, weight = item.partition("=")
        fg, sep, bg = spec.partition(":")
        if not sep or fg not in COLOURS + ("*",) or bg not in BACKGROUNDS + ("*",):
            raise ValueError(f"--focus: {item!r} is not foreground:background from the vocabulary")
        try:
            value = float(weight) if weight else None
        except ValueError:
            value = -1.0
        if value is not None and not value > 0:
            raise ValueError(f"--focus: {item!r} needs a positive weight after '='")
        pairs.append((fg, bg, value))
    return pairs


def focus_weights(
    pairs: list[tuple[str, str, float | None]], weight: float
) -> dict[tuple[str, str], float]:
    """Sampling weight per (foreground, background) pair; the last matching --focus item wins."""
    from .shapes import colour_pairs

    out = {}
    for fg, bg in colour_pairs():
        for f, b, w in pairs:
            if f in ("*", fg) and b in ("*", bg):
                out[(fg, bg)] = weight if w is None else w
    return out


def _init_weights(unet, ema, folder: Path) -> dict:
    """Load a version folder's UNet into the model and the EMA; returns its record."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))
    unet.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    with torch.no_grad():
        for e, p in zip(ema, unet.parameters(), strict=True):
            e.copy_(p.detach())
    meta = json.loads((folder / "version.json").read_text())
    record = {
        "version": meta.get("name"),
        "content_hash": meta.get("content_hash"),
        "steps": meta.get("steps"),
        "train_minutes": meta.get("train_minutes"),
    }
    training = folder / "training.json"
    if training.is_file():  # keep the whole history when continuing a continuation
        history = json.loads(training.read_text())
        record["command"] = history.get("command")
        if history.get("init_from"):
            record["init_from"] = history["init_from"]
    return record


def progress_of(state: dict, args: argparse.Namespace) -> float:
    """Fraction of the budget spent: steps or wall-clock seconds, whichever runs out first."""
    by_steps = state["step"] / args.steps
    by_time = state["train_seconds"] / (args.minutes * 60)
    return min(1.0, max(by_steps, by_time))


def lr_at(step: int, progress: float, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak over the budget."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _save_checkpoint(work: Path, unet, ema, optimizer, state: dict) -> None:
    """Write model, EMA and optimizer tensors (safetensors) plus JSON state, atomically."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.contiguous() for k, v in unet.state_dict().items()}
    tensors.update({f"ema.{i}": p.contiguous() for i, p in enumerate(ema)})
    for i, p in enumerate(unet.parameters()):
        st = optimizer.state.get(p)
        if st:
            tensors[f"opt.{i}.exp_avg"] = st["exp_avg"].contiguous()
            tensors[f"opt.{i}.exp_avg_sq"] = st["exp_avg_sq"].contiguous()
            state.setdefault("opt_steps", {})[str(i)] = float(st["step"])
    tmp = work / "checkpoint.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, work / "checkpoint.safetensors")
    tmp_json = work / "state.json.tmp"
    tmp_json.write_text(json.dumps(state, indent=1))
    os.replace(tmp_json, work / "state.json")


def _load_checkpoint(work: Path, unet, ema, optimizer) -> dict | None:
    """Restore a checkpoint written by ``_save_checkpoint``; None when there is none."""
    import torch
    from safetensors.torch import load_file

    if not (work / "state.json").exists():
        return None
    state = json.loads((work / "state.json").read_text())
    tensors = load_file(str(work / "checkpoint.safetensors"))
    unet.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for i, p in enumerate(ema):
        p.copy_(tensors[f"ema.{i}"])
    for i, p in enumerate(unet.parameters()):
        if f"opt.{i}.exp_avg" in tensors:
            optimizer.state[p] = {
                "step": torch.tensor(state["opt_steps"][str(i)]),
                "exp_avg": tensors[f"opt.{i}.exp_avg"],
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"],
            }
    return state


def export(unet, ema, export_dir: Path, state: dict) -> None:
    """Save the EMA weights as an fp16 UNet plus the training record."""
    import copy

    import torch

    from .canvas_model import build_scheduler
    from .versions import write_metadata

    model = copy.deepcopy(unet)
    with torch.no_grad():
        for p, e in zip(model.parameters(), ema, strict=True):
            p.copy_(e)
    export_dir.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(str(export_dir / "unet"), safe_serialization=True)
    build_scheduler().save_pretrained(str(export_dir / "scheduler"))
    record = {k: v for k, v in state.items() if k not in ("opt_steps",)}
    (export_dir / "training.json").write_text(json.dumps(record, indent=1))
    write_metadata(
        export_dir,
        name="canvas-shapes",
        kind="base",
        parent=None,
        steps=state["step"],
        train_minutes=round(state["train_seconds"] / 60, 1),
        **({"init_from": state["init_from"]} if state.get("init_from") else {}),
    )


def main(argv: list[str] | None = None) -> int:
    """Train (or resume) and export the EMA weights when the step budget is reached."""
    args = parse_args(argv)
    import numpy as np
    import torch
    from tqdm import tqdm

    from textencoder import shared_text_encoder

    from .canvas_model import PROMPT_TOKENS, UNET_CONFIG, build_scheduler, build_unet, pooled
    from .shapes import draw_pool, training_scenes

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)

    # 1. Model, EMA copy, optimizer; resume if a checkpoint exists.
    unet = build_unet().train()
    ema = [p.detach().clone() for p in unet.parameters()]
    optimizer = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.01)
    state = _load_checkpoint(work, unet, ema, optimizer)
    if state is None:
        state = {"step": 0, "train_seconds": 0.0, "losses": []}
        if args.init_from:  # a fresh continuation: weights and EMA start from the version
            state["init_from"] = _init_weights(unet, ema, Path(args.init_from))
    if args.export_only:  # keeps the recorded command and arguments of the training run
        export(unet, ema, Path(args.export_dir), state)
        print(f"exported step {state['step']} to {args.export_dir}")
        return 0

    state.update(
        config={
            "unet": {k: list(v) if isinstance(v, tuple) else v for k, v in UNET_CONFIG.items()}
        },
        args={k: v for k, v in vars(args).items() if k not in ("export_only", "focus_pairs")},
        command=shlex.join(
            ["python", "-m", "generation", "train-base"]
            + list(argv if argv is not None else sys.argv[2:])
        ),
    )

    # 2. Data: images drawn once, caption token states computed once.
    t0 = time.time()
    focus = focus_weights(args.focus_pairs, args.focus_weight)
    images, labels, captions = draw_pool(training_scenes(), args.pool_size, args.seed, focus)
    encoder = shared_text_encoder()
    states = torch.cat(
        [
            encoder.token_states(captions[i : i + 128], PROMPT_TOKENS)
            for i in range(0, len(captions), 128)
        ]
    )
    empty = encoder.token_states([""], PROMPT_TOKENS)[0]
    pool = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    print(
        f"pool of {len(pool)} images, {len(captions)} captions in {time.time() - t0:.1f}s",
        flush=True,
    )

    scheduler = build_scheduler()
    alphas_cumprod = scheduler.alphas_cumprod
    checkpoint_every = args.checkpoint_minutes * 60
    last_checkpoint = time.time()
    bar = tqdm(total=args.steps, initial=state["step"], desc="train-base", smoothing=0.05)
    lr = args.lr
    window: list[float] = []

    # 3. Training loop; every random draw is keyed by (seed, step) so resuming is exact.
    while progress_of(state, args) < 1.0:
        step = state["step"]
        tick = time.time()
        rng = np.random.default_rng([args.seed, step])
        idx = torch.from_numpy(rng.integers(0, len(pool), args.batch_size))
        x0 = pool[idx].float() / 127.5 - 1.0
        cond = states[labels[idx.numpy()]].clone()
        cond[torch.from_numpy(rng.random(args.batch_size) < args.cfg_drop)] = empty
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(
            0, scheduler.config.num_train_timesteps, (args.batch_size,), generator=gen
        )
        noisy = scheduler.add_noise(x0, noise, t)
        target = scheduler.get_velocity(x0, noise, t)
        snr = alphas_cumprod[t] / (1 - alphas_cumprod[t])
        weight = snr.clamp(max=args.snr_gamma) / (snr + 1)

        lr = lr_at(step, progress_of(state, args), args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        pred = unet(noisy, t, encoder_hidden_states=cond, class_labels=pooled(cond)).sample
        loss = (weight * ((pred - target) ** 2).mean(dim=(1, 2, 3))).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema, unet.parameters(), strict=True):
                e.lerp_(p.detach(), 1 - decay)

        state["step"] = step + 1
        state["train_seconds"] += time.time() - tick
        window.append(loss.item())
        if len(window) == 50:
            state["losses"].append([state["step"], round(sum(window) / 50, 5)])
            window = []
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
        if time.time() - last_checkpoint > checkpoint_every or progress_of(state, args) >= 1.0:
            _save_checkpoint(work, unet, ema, optimizer, state)
            export(unet, ema, work / "snapshot", state)
            last_checkpoint = time.time()
    bar.close()

    # 4. Export the EMA weights as the shipped fp16 model.
    export(unet, ema, Path(args.export_dir), state)
    print(
        f"trained {state['step']} steps in {state['train_seconds'] / 60:.1f} min; "
        f"exported to {args.export_dir}"
    )
    return 0
