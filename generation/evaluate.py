"""``python -m generation evaluate``: prompt adherence on held-out captions, analysed.

Suites: ``base`` (held-out and seen captions), ``new-concept`` (the example fine-tune's colour)
and ``pairs`` (every foreground x background colour pair at every count, a few seeds each,
summarised per pair: a pair is right when every image has both colours where the caption
puts them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .shapes import Scene

ATTRIBUTES = ("colour", "background", "shape", "count", "position", "all")
SUITES = ("base", "new-concept", "pairs")
PAIRS_SEED = 7  # the seeds the colour-swap report tried: 7, 8, 9
_CHUNK = 64  # images per pipeline call: bounds memory on big suites


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``evaluate``."""
    p = argparse.ArgumentParser(prog="python -m generation evaluate")
    p.add_argument("--version", default=None, help="model version (default: the active one)")
    p.add_argument(
        "--suite",
        choices=SUITES,
        default="base",
        help="base: held-out and seen captions; new-concept: the example fine-tune's concept; "
        "pairs: every foreground x background colour pair at every count",
    )
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--seed", type=int, default=None, help="first seed (pairs: 7, others: 0)")
    p.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="pairs suite: images per caption, seeds SEED, SEED+1, ... (others: one per caption)",
    )
    p.add_argument("--sampler", default=None, help="e.g. euler_a (default: the model's own)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--model-dir", default="instance/models")
    p.add_argument("--json", dest="json_out", default=None, help="write the report here")
    p.add_argument("--images", default=None, help="save a contact sheet PNG here")
    p.add_argument("--record", action="store_true", help="store figures in the version metadata")
    args = p.parse_args(argv)
    if args.record and args.sampler:
        p.error("--record keeps the figures of the model's own sampler; drop --sampler")
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    if args.seed is None:
        args.seed = PAIRS_SEED if args.suite == "pairs" else 0
    return args


def suite_scenes(suite: str) -> dict[str, list[Scene]]:
    """Scenes to evaluate, grouped (held-out / seen)."""
    if suite == "pairs":
        return {"pairs": pair_scenes()}
    if suite == "new-concept":
        from .example_data import concept_eval_scenes

        held, seen = concept_eval_scenes()
    else:
        from .shapes import evaluation_scenes

        held, seen = evaluation_scenes()
    return {"held-out": held, "seen": seen}


def pair_scenes(pairs: list[tuple[str, str]] | None = None) -> list[Scene]:
    """One caption per colour pair and count; the shape rotates so each pair shows all three."""
    from .shapes import COUNTS, SHAPES, colour_pairs

    scenes = []
    for i, (fg, bg) in enumerate(colour_pairs()):
        if pairs is None or (fg, bg) in pairs:
            scenes += [Scene(fg, SHAPES[(i + c) % len(SHAPES)], bg, c) for c in COUNTS]
    return scenes


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
    generator,
    version: str | None,
    suite: str,
    steps=None,
    guidance=None,
    seed=0,
    sampler=None,
    seeds: int = 1,
    groups: dict[str, list[Scene]] | None = None,
):
    """Generate and score images; returns (report, images).

    One image per scene with seeds ``seed + i``; the pairs suite makes ``seeds`` images of every
    scene with seeds ``seed .. seed + seeds - 1``. ``groups`` replaces the suite's scenes.
    """
    from .analysis import analyse
    from .types import GenerationRequest

    groups = groups or suite_scenes(suite)
    scenes = [(g, s) for g, items in groups.items() for s in items]
    if suite == "pairs":
        jobs = [(g, s, seed + k) for g, s in scenes for k in range(seeds)]
    else:
        jobs = [(g, s, seed + i) for i, (g, s) in enumerate(scenes)]
    reqs = [
        GenerationRequest(
            s.caption,
            steps=steps,
            guidance_scale=guidance,
            seed=job_seed,
            version=version,
            sampler=sampler,
        )
        for _, s, job_seed in jobs
    ]
    t0 = time.perf_counter()
    results = []
    for i in range(0, len(reqs), _CHUNK):
        results += generator.generate_batch(reqs[i : i + _CHUNK])
    elapsed = time.perf_counter() - t0
    rows, images = [], []
    for (group, scene, _), result in zip(jobs, results, strict=True):
        image = result.images[0].image
        found = analyse(image)
        images.append(image)
        rows.append(
            {
                "group": group,
                "caption": scene.caption,
                "pair": [scene.colour, scene.background],
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
    if suite == "pairs":
        report["seeds"] = seeds
        report["pairs"] = pair_summary(rows)
    return report, images


def pair_summary(rows: list[dict]) -> list[dict]:
    """Per (foreground, background) pair: images, colours/count/shape right, and whether all are.

    A pair is right when the analyser finds the caption's foreground and background colour in
    every one of its images.
    """
    by_pair: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_pair.setdefault(tuple(row["pair"]), []).append(row)
    out = []
    for (fg, bg), items in by_pair.items():
        colours = sum(bool(r["marks"]["colour"] and r["marks"]["background"]) for r in items)
        out.append(
            {
                "foreground": fg,
                "background": bg,
                "images": len(items),
                "colours": colours,
                "count": sum(bool(r["marks"]["count"]) for r in items),
                "shape": sum(bool(r["marks"]["shape"]) for r in items),
                "right": colours == len(items),
            }
        )
    return out


def format_pairs(pairs: list[dict]) -> str:
    """Markdown table of the per-pair summary."""
    lines = [
        "| foreground | background | images | colours right | count right | shape right | pair |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        n = p["images"]
        lines.append(
            f"| {p['foreground']} | {p['background']} | {n} | {p['colours']}/{n} | "
            f"{p['count']}/{n} | {p['shape']}/{n} | {'right' if p['right'] else 'WRONG'} |"
        )
    return "\n".join(lines)


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
        gen,
        args.version,
        args.suite,
        args.steps,
        args.guidance,
        args.seed,
        args.sampler,
        seeds=args.seeds,
    )
    print(
        f"version {report['version']}, suite {report['suite']}, {report['steps']} steps, "
        f"guidance {report['guidance_scale']}, sampler {report['sampler'] or 'own'}, "
        f"{report['seconds']} s"
    )
    print(format_table(report))
    if "pairs" in report:
        print(format_pairs(report["pairs"]))
        wrong = [
            f"{p['foreground']} on {p['background']}" for p in report["pairs"] if not p["right"]
        ]
        print(f"{len(report['pairs']) - len(wrong)}/{len(report['pairs'])} pairs right", end="")
        print(f"; wrong: {', '.join(wrong)}" if wrong else "")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(report, indent=1))
    if args.images:
        contact_sheet(images, args.images)
    if args.record:
        version = gen.registry.get(report["version"])
        evaluation = dict(version.evaluation)
        keep = ("steps", "guidance_scale", "seed", "seeds", "summary", "pairs")
        evaluation[args.suite] = {k: report[k] for k in keep if k in report}
        gen.registry.set_evaluation(version.name, evaluation)
        from .cards import refresh

        version = gen.registry.get(version.name)
        parent = gen.registry.get(version.parent) if version.parent else None
        print(f"recorded in {refresh(version, parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
