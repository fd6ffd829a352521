"""Benchmark the moderation chain: single-prompt latency, batch throughput, blocklist speed.

Usage: python bench/moderation.py [--file prompts.txt] [--n 2000] [--out FILE.json]
Prints a table and writes JSON with p50_ms, p99_ms, prompts_per_s (and more).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textencoder.runtime import sleep_idle_openmp_threads  # noqa: E402

sleep_idle_openmp_threads()  # as python -m safety does

SUBJECTS = (
    "a cat on a windowsill", "an old fisherman mending nets", "a red sports car on a coast road",
    "a knight in armor in a misty forest", "a bowl of ramen", "a lighthouse in a storm",
    "children flying kites on a beach", "a woman in a yellow dress in a field",
    "a cyberpunk street at night", "a dragon over a castle", "a robot serving tea",
    "a portrait of a smiling grandmother", "a mountain lake at dawn", "a medieval market",
    "a fox in the snow", "an astronaut on the moon", "a cozy library with a fireplace",
    "a samurai in the rain", "a bustling train station", "a vase of sunflowers",
)  # fmt: skip


MODIFIERS = (
    "highly detailed", "trending on artstation", "digital art", "concept art", "oil painting",
    "watercolor", "35mm photograph", "octane render", "unreal engine 5", "matte painting",
    "pencil sketch", "8k", "4k uhd", "sharp focus", "cinematic lighting", "volumetric lighting",
    "dramatic lighting", "golden hour", "moody", "dark fantasy", "horror", "surreal",
    "hyperrealistic", "award winning photograph", "studio lighting", "bokeh", "film grain",
    "by greg rutkowski", "by alphonse mucha", "by artgerm", "by wlop", "by james gurney",
    "by studio ghibli", "by makoto shinkai", "by zdzislaw beksinski", "by h. r. giger",
    "by francis bacon", "by edward hopper", "by gregory crewdson", "by caravaggio",
    "by rembrandt", "by simon stalenhag", "by beeple", "by moebius", "by norman rockwell",
    "vivid colors", "muted colors", "black and white", "wide angle", "close up portrait",
    "intricate", "elegant", "symmetrical", "epic composition", "hd", "dslr", "polaroid",
)  # fmt: skip
PREFIXES = ("", "", "", "a photo of ", "portrait of ", "an illustration of ", "a painting of ")


def stylise(text: str, rng: random.Random) -> str:
    """Append 1-6 artistic modifiers (and maybe a prefix) so a caption reads like a prompt."""
    text = text.strip().rstrip(".")
    prefix = rng.choice(PREFIXES)
    if prefix:
        text = prefix + text[0].lower() + text[1:]
    mods = rng.sample(MODIFIERS, rng.randint(1, 6))
    return ", ".join([text, *mods])


def bench_prompts(n: int, seed: int = 0) -> list[str]:
    """n distinct prompt-style prompts (subjects with random modifiers)."""
    rng = random.Random(seed)
    prompts: dict[str, None] = {}
    while len(prompts) < n:
        prompts[stylise(rng.choice(SUBJECTS), rng)] = None
    return list(prompts)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> int:
    """Run the benchmark, print a table and write JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--file", type=Path, help="prompts, one per line (default: generated)")
    p.add_argument("--n", type=int, default=2000, help="prompts for the throughput run")
    p.add_argument("--single", type=int, default=200, help="prompts for the latency run")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "moderation.json")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default 0: one per core)")
    p.add_argument("--head", type=Path, help="classifier head (default: the shipped one)")
    args = p.parse_args()
    import torch
    from PIL import Image

    if args.threads:
        torch.set_num_threads(args.threads)

    from safety import Moderation

    started = time.perf_counter()
    mod = Moderation(classifier_path=args.head)
    mod.load()
    load_s = time.perf_counter() - started
    if args.file:
        prompts = [line.rstrip("\n") for line in args.file.open(encoding="utf-8")][: args.n]
    else:
        prompts = bench_prompts(args.n)
    mod.check_prompts(prompts[:64])  # warm-up

    latencies = []
    for prompt in prompts[: args.single]:
        t = time.perf_counter()
        mod.check_prompt(prompt)
        latencies.append((time.perf_counter() - t) * 1000)

    t = time.perf_counter()
    for start in range(0, len(prompts), 1024):
        mod.check_prompts(prompts[start : start + 1024])
    batch_s = time.perf_counter() - t

    t = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for prompt in prompts:
            mod.blocklist.check(prompt)
    blocklist_s = time.perf_counter() - t

    image = Image.new("RGB", (256, 256), (200, 210, 230))
    image_ms = []
    for _ in range(20):
        t = time.perf_counter()
        mod.check_image(image)
        image_ms.append((time.perf_counter() - t) * 1000)

    result = {
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "prompts_per_s": round(len(prompts) / batch_s, 1),
        "blocklist_prompts_per_s": round(rounds * len(prompts) / blocklist_s, 1),
        "image_p50_ms": round(statistics.median(image_ms), 2),
        "load_s": round(load_s, 2),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "n_single": len(latencies),
        "n_batch": len(prompts),
        "moderator_version": mod.version,
    }
    rows = [
        ("prompt chain, single prompt p50", f"{result['p50_ms']} ms", "<= 10 ms"),
        ("prompt chain, single prompt p99", f"{result['p99_ms']} ms", ""),
        ("prompt chain, batched throughput", f"{result['prompts_per_s']} prompts/s", ">= 500/s"),
        ("blocklist alone", f"{result['blocklist_prompts_per_s']} prompts/s", ">= 10,000/s"),
        ("image check p50", f"{result['image_p50_ms']} ms", ""),
        ("load (encoder, head, lists, ONNX)", f"{result['load_s']} s", ""),
        ("torch threads", str(result["torch_threads"]), ""),
    ]
    print(f"{'measure':<36}{'value':>22}  target")
    for name, value, target in rows:
        print(f"{name:<36}{value:>22}  {target}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
