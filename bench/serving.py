"""Benchmark serving over HTTP against direct generator calls, on one machine, in one run.

    .venv/bin/python bench/serving.py [--runs 7] [--requests 16] [--json bench/results/serving.json]

Measures, with the same prompt, seeds and steps:
- ``overhead_ratio``: median latency of ``POST /api/v1/images`` over HTTP (moderation, queue,
  image check and storage included) / median latency of a direct ``Generator.generate`` call;
- ``batching_speedup``: throughput of 8 concurrent clients / the same requests one after another
  (what micro-batching buys);
- ``rss_mb``: the server's steady resident memory under that concurrent load (median of samples).
The server is the real one (gunicorn, ``webapp:create_app()``) on a free loopback port.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from textencoder.runtime import sleep_idle_openmp_threads  # noqa: E402

# The server does this (webapp/__init__.py); the direct side must run the same way.
sleep_idle_openmp_threads()

from tests.e2e.conftest import Server, prepare_instance  # noqa: E402
from tests.e2e.test_load import server_rss_mb  # noqa: E402

PROMPT = "two red circles on a blue background"
CLIENTS = 8


def direct_latencies(runs: int, steps: int | None, threads: int) -> tuple[list[float], str]:
    """Seconds per direct generator call (after a warm-up), and the model version."""
    import torch

    from generation import GenerationRequest, Generator

    if threads:
        torch.set_num_threads(threads)
    gen = Generator()
    gen.load()
    gen.generate(GenerationRequest(PROMPT, seed=0, steps=steps))
    times = []
    for i in range(runs):
        start = time.perf_counter()
        gen.generate(GenerationRequest(PROMPT, seed=i, steps=steps))
        times.append(time.perf_counter() - start)
    return times, gen.active_version


def post_image(server: Server, key: str, seed: int, steps: int | None) -> float:
    """Seconds for one synchronous API request; raises on anything but 200."""
    import requests

    body = {"prompt": PROMPT, "seed": seed, **({"steps": steps} if steps else {})}
    start = time.perf_counter()
    answer = requests.post(
        server.url("/api/v1/images"),
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return elapsed


def concurrent_run(
    server: Server, key: str, n: int, steps: int | None
) -> tuple[float, list[float]]:
    """Wall seconds for n requests from CLIENTS concurrent clients, and RSS samples meanwhile."""
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append(server_rss_mb(server))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda s: post_image(server, key, 1000 + s, steps), range(n)))
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return wall, samples


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7, help="latency samples per side")
    p.add_argument("--requests", type=int, default=16, help="requests in the throughput runs")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (model default)")
    p.add_argument(
        "--threads", type=int, default=0, help="torch threads, direct and server alike (0: torch's)"
    )
    p.add_argument("--json", default="bench/results/serving.json")
    args = p.parse_args(argv)

    direct, version = direct_latencies(args.runs, args.steps, args.threads)
    instance = Path(tempfile.mkdtemp(prefix="safecanvas-bench-"))
    key = prepare_instance(instance)["user"]
    server = Server(
        instance,
        SAFECANVAS_RATE_LIMIT="100000/minute",
        SAFECANVAS_QUEUE_MAX="256",
        SAFECANVAS_BATCH_MAX=str(CLIENTS),
        SAFECANVAS_BATCH_WAIT_MS="50",
        SAFECANVAS_TORCH_THREADS=str(args.threads),
    )
    server.start()
    try:
        post_image(server, key, 0, args.steps)  # warm-up
        http = [post_image(server, key, i, args.steps) for i in range(args.runs)]
        start = time.perf_counter()
        for i in range(args.requests):
            post_image(server, key, 1000 + i, args.steps)
        sequential_s = time.perf_counter() - start
        concurrent_s, rss = concurrent_run(server, key, args.requests, args.steps)
    finally:
        server.stop()

    figures = {
        "model": version,
        "steps": args.steps,
        "torch_threads": args.threads,
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
        "direct_median_s": statistics.median(direct),
        "http_median_s": statistics.median(http),
        "overhead_ratio": statistics.median(http) / statistics.median(direct),
        "sequential_rps": args.requests / sequential_s,
        "concurrent_rps": args.requests / concurrent_s,
        "batching_speedup": sequential_s / concurrent_s,
        "rss_mb": statistics.median(rss) if rss else None,
        "rss_max_mb": max(rss) if rss else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    rows = [
        ("direct generate, median", f"{figures['direct_median_s']:.3f} s"),
        ("POST /api/v1/images, median", f"{figures['http_median_s']:.3f} s"),
        ("overhead ratio (target <= 1.05)", f"{figures['overhead_ratio']:.3f}"),
        ("sequential throughput", f"{figures['sequential_rps']:.2f} req/s"),
        (f"{CLIENTS} concurrent clients", f"{figures['concurrent_rps']:.2f} req/s"),
        ("batching speed-up (target >= 1.5)", f"{figures['batching_speedup']:.2f}x"),
        ("server RSS under load (target <= 1536)", f"{figures['rss_mb']:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
