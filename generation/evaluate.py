"""``python -m generation evaluate``: prompt adherence on held-out captions, analysed."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .shapes import Scene

ATTRIBUTES = ("colour", "background", "shape", "count", "position", "all")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``evaluate``."""
    p = argparse.ArgumentParser(prog="python -m generation evaluate")
    p.add_argument("--version", default=None, help="model version (default: the active one)")
    p.add_argument(
        "--suite",
        choices=("base", "new-concept"),
        default="base",
        help="base: held-out and seen captions; new-concept: the example fine-tune's concept",
    )
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sampler", default=None, help="e.g. euler_a (default: the model's own)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--model-dir", default="instance/models")
    p.add_argument("--json", dest="json_out", default=None, help="write the report here")
    p.add_argument("--images", default=None, help="save a contact sheet PNG here")
    p.add_argument("--record", action="store_true", help="store figures in the version metadata")
    args = p.parse_args(argv)
    if args.record and args.sampler:
        p.error("--record keeps the figures of the model's own sampler; drop --sampler")
    return args


def suite_scenes(suite: str) -> dict[str, list[Scene]]:
    """Scenes to evaluate, grouped (held-out / seen)."""
    if suite == "new-concept":
        from .example_data import concept_eval_scenes

        held, seen = concept_eval_scenes()
    else:
        from .shapes import evaluation_scenes

        held, seen = evaluation_scenes()
    return {"held-out": held, "seen": seen}


def score(scene: Scene, found) -> dict[str, bool | None]:
    """Which attributes of the scene the analysed image got right (None: not applicable)."""
    marks: dict[str, bool | None] = {
        "colour": found.colour == scene.colour,
        "background": found.background == scene.background,
        "shape": found.shape == scene.shape,
        "count": found.count == scene.count,
        "position": found.position == scene.position if scene.position else None,
    }
    marks["all"] = all(v for v in marks.values() if v is not None)
    return marks


def summarise(rows: list[dict]) -> dict[str, float | None]:
    """Accuracy per attribute over rows."""
    out: dict[str, float | None] = {"images": len(rows)}
    for attr in ATTRIBUTES:
        marks = [r["marks"][attr] for r in rows if r["marks"][attr] is not None]
        out[attr] = round(sum(marks) / len(marks), 4) if marks else None
    return out


def evaluate(
    generator, version: str | None, suite: str, steps=None, guidance=None, seed=0, sampler=None
):
    """Generate one image per scene and score it; returns (report, images)."""
    from .analysis import analyse
    from .types import GenerationRequest

    groups = suite_scenes(suite)
    scenes = [(g, s) for g, items in groups.items() for s in items]
    reqs = [
        GenerationRequest(
            s.caption,
            steps=steps,
            guidance_scale=guidance,
            seed=seed + i,
            version=version,
            sampler=sampler,
        )
        for i, (_, s) in enumerate(scenes)
    ]
    t0 = time.perf_counter()
    results = generator.generate_batch(reqs)
    elapsed = time.perf_counter() - t0
    rows, images = [], []
    for (group, scene), result in zip(scenes, results, strict=True):
        image = result.images[0].image
        found = analyse(image)
        images.append(image)
        rows.append(
            {
                "group": group,
                "caption": scene.caption,
                "seed": result.images[0].seed,
                "found": found.__dict__,
                "marks": score(scene, found),
            }
        )
    checked = generator.validate(reqs[0])
    summary = {g: summarise([r for r in rows if r["group"] == g]) for g in groups}
    summary["overall"] = summarise(rows)
    report = {
        "version": results[0].version,
        "suite": suite,
        "steps": checked.steps,
        "guidance_scale": checked.guidance_scale,
        "seed": seed,
        "sampler": checked.sampler,
        "seconds": round(elapsed, 1),
        "summary": summary,
        "rows": rows,
    }
    return report, images


def format_table(report: dict) -> str:
    """Markdown table of the summary."""
    head = "| group | images | " + " | ".join(ATTRIBUTES) + " |"
    lines = [head, "|" + "---|" * (len(ATTRIBUTES) + 2)]
    for group, s in report["summary"].items():
        cells = ["-" if s[a] is None else f"{100 * s[a]:.0f}%" for a in ATTRIBUTES]
        lines.append(f"| {group} | {s['images']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def contact_sheet(images: list, path: str, columns: int = 10, scale: int = 3) -> None:
    """Save images side by side, upscaled, for a human look."""
    from PIL import Image

    w, h = images[0].size
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w * scale, rows * h * scale), (255, 255, 255))
    for i, im in enumerate(images):
        big = im.resize((w * scale, h * scale), Image.Resampling.NEAREST)
        sheet.paste(big, ((i % columns) * w * scale, (i // columns) * h * scale))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    """Evaluate a version, print the table, optionally write JSON and record the figures."""
    args = parse_args(argv)
    from .generator import Generator

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    gen = Generator(model_dir=args.model_dir).load()
    report, images = evaluate(
        gen, args.version, args.suite, args.steps, args.guidance, args.seed, args.sampler
    )
    print(
        f"version {report['version']}, suite {report['suite']}, {report['steps']} steps, "
        f"guidance {report['guidance_scale']}, sampler {report['sampler'] or 'own'}, "
        f"{report['seconds']} s"
    )
    print(format_table(report))
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(report, indent=1))
    if args.images:
        contact_sheet(images, args.images)
    if args.record:
        version = gen.registry.get(report["version"])
        evaluation = dict(version.evaluation)
        evaluation[args.suite] = {
            k: report[k] for k in ("steps", "guidance_scale", "seed", "summary")
        }
        gen.registry.set_evaluation(version.name, evaluation)
        from .cards import refresh

        version = gen.registry.get(version.name)
        parent = gen.registry.get(version.parent) if version.parent else None
        print(f"recorded in {refresh(version, parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
