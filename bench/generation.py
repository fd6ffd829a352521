"""Benchmark the default model at default settings: per-image latency and batch-of-4 speed-up.

    .venv/bin/python bench/generation.py [--runs 5] [--json bench/results/generation.json]

Prints a table and writes JSON with ``image_latency_s`` (median of single-image requests)
and ``batch4_speedup`` (4 single calls / one batch of 4).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = [
    "a red circle on a white background",
    "two blue squares on a gray background",
    "three yellow triangles on a black background",
    "a green square on the left, on a yellow background",
]


def timed(fn) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--model", default=None)
    p.add_argument("--model-dir", default="instance/models")
    p.add_argument("--json", default="bench/results/generation.json")
    p.add_argument("--record", action="store_true", help="store in the version's model card")
    args = p.parse_args(argv)

    import torch

    from generation import GenerationRequest, Generator

    if args.threads:
        torch.set_num_threads(args.threads)
    gen = Generator(model=args.model, model_dir=args.model_dir)
    load_s = timed(gen.load)
    reqs = [GenerationRequest(prompt, seed=i) for i, prompt in enumerate(PROMPTS)]
    gen.generate(reqs[0])  # warm-up

    singles = [timed(lambda r=reqs[i % 4]: gen.generate(r)) for i in range(args.runs)]
    four_singles = [
        timed(lambda: [gen.generate(r) for r in reqs]) for _ in range(max(1, args.runs // 2))
    ]
    batches = [timed(lambda: gen.generate_batch(reqs)) for _ in range(max(1, args.runs // 2))]

    limits = gen.limits
    report = {
        "model": gen.active_version,
        "device": gen.device,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "steps": limits.default_steps,
        "size": list(limits.default_size),
        "guidance_scale": limits.default_guidance_scale,
        "load_s": round(load_s, 3),
        "image_latency_s": round(statistics.median(singles), 3),
        "image_latency_runs_s": [round(s, 3) for s in singles],
        "four_singles_s": round(statistics.median(four_singles), 3),
        "batch4_s": round(statistics.median(batches), 3),
    }
    report["batch4_speedup"] = round(report["four_singles_s"] / report["batch4_s"], 2)
    report["batch4_per_image_s"] = round(report["batch4_s"] / 4, 3)

    print(
        f"model {report['model']} on {report['device']} ({report['torch_threads']} threads), "
        f"{report['steps']} steps, {report['size'][0]}x{report['size'][1]}, "
        f"guidance {report['guidance_scale']}"
    )
    print("| measure | seconds |\n|---|---|")
    for key in ("load_s", "image_latency_s", "four_singles_s", "batch4_s", "batch4_per_image_s"):
        print(f"| {key} | {report[key]} |")
    print(f"| batch4_speedup | {report['batch4_speedup']}x |")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    if args.record:
        from generation.cards import refresh
        from generation.versions import write_json_atomic

        version = gen.registry.get(report["model"])
        meta = json.loads((version.path / "version.json").read_text())
        meta["benchmark"] = report
        write_json_atomic(version.path / "version.json", meta)
        print(f"recorded in {refresh(gen.registry.get(report['model']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
