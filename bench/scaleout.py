"""Benchmark the queue backends: in-process, Celery with one worker, Celery with two workers.

    .venv/bin/python bench/scaleout.py [--broker redis|rabbitmq] [--runs 15] [--requests 16]

The same requests (canvas-shapes, same prompt, seeds and steps) go through real servers:
1. ``inprocess``: the default server (gunicorn, one process generating what it accepts);
2. ``celery-1``: a web server with ``SAFECANVAS_QUEUE=celery`` and one ``flask worker``;
3. ``celery-2``: the same with a second worker.
Every generating process uses one torch thread, so two workers can use the two cores here.
All three share one fresh PostgreSQL database (SQLite when none answers) and the broker.

Figures (JSON under bench/results/):
- ``celery_overhead_ms``: median single-request latency of celery-1 minus inprocess (the
  broker hop, the worker's database writes, the web tier's wait on the job row); requests go
  to the two servers alternately, so both medians see the same load on a shared machine
  (``celery_overhead_paired_ms`` is the median of the per-pair differences);
- ``workers2_speedup``: throughput of ``--requests`` requests from ``--clients`` concurrent
  clients, celery-2 over celery-1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import post_image  # noqa: E402
from tests.e2e.cluster import (  # noqa: E402
    BROKERS,
    Worker,
    delete_queue,
    fresh_postgres,
    metric_value,
)
from tests.e2e.conftest import Server, server_env  # noqa: E402


def prepare(instance: Path, env: dict[str, str]) -> str:
    """Migrate the database and make an API key with the real CLI; the key."""
    import subprocess

    from tests.e2e.conftest import BIN

    def flask(*args: str) -> str:
        out = subprocess.run(
            [str(BIN / "flask"), "--app", "webapp", *args],
            cwd=ROOT,
            env=server_env(instance, SAFECANVAS_LOAD_MODELS="off", **env),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    flask("db", "upgrade")
    return flask("create-api-key", "bench")


def batch_counts(workers: list[Worker]) -> tuple[float, float]:
    """(pipeline batches, jobs in them) so far, over the workers' metrics."""
    texts = [w.metrics() for w in workers]
    return (
        sum(metric_value(t, "safecanvas_batch_requests_count") for t in texts),
        sum(metric_value(t, "safecanvas_batch_requests_sum") for t in texts),
    )


def throughput(server: Server, key: str, args: argparse.Namespace, workers=None) -> dict:
    """Requests per second of ``args.requests`` requests from ``args.clients`` clients."""
    post_image(server, key, 0, args.steps)  # warm-up (first batch, connections)
    before = batch_counts(workers) if workers else None
    start = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        list(
            pool.map(lambda s: post_image(server, key, 1000 + s, args.steps), range(args.requests))
        )
    wall = time.perf_counter() - start
    figures = {"throughput_rps": args.requests / wall, "wall_s": wall}
    if workers:  # measured, not assumed: how many jobs each pipeline call held
        after = batch_counts(workers)
        figures["mean_batch_size"] = (after[1] - before[1]) / max(after[0] - before[0], 1)
    return figures


def paired_latencies(a: Server, b: Server, key: str, args: argparse.Namespace) -> tuple:
    """One request at a time, alternating a and b, so both see the same machine load."""
    post_image(a, key, 0, args.steps)
    post_image(b, key, 0, args.steps)
    first, second = [], []
    for i in range(args.runs):
        first.append(post_image(a, key, i, args.steps))
        second.append(post_image(b, key, i, args.steps))
    return first, second


def main(argv: list[str] | None = None) -> int:
    """Run the three setups, print the table and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--broker", choices=sorted(BROKERS), default="redis")
    p.add_argument("--runs", type=int, default=15, help="single-request latency samples")
    p.add_argument("--requests", type=int, default=16, help="requests in the throughput runs")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (model default)")
    p.add_argument("--json", default="bench/results/scaleout.json")
    args = p.parse_args(argv)

    instance = Path(tempfile.mkdtemp(prefix="safecanvas-scaleout-"))
    try:
        database, drop = fresh_postgres()
    except BaseException:  # pytest's skip when PostgreSQL does not answer
        database, drop = f"sqlite:///{instance / 'bench.db'}", lambda: None
    queue = f"safecanvas.bench.{uuid.uuid4().hex[:8]}"
    common = {
        "SAFECANVAS_DATABASE_URL": database,
        "SAFECANVAS_RATE_LIMIT": "100000/minute",
        "SAFECANVAS_QUEUE_MAX": "256",
        "SAFECANVAS_BATCH_MAX": "4",
        "SAFECANVAS_BATCH_WAIT_MS": "50",
        "SAFECANVAS_TORCH_THREADS": "1",
    }
    celery = {
        **common,
        "SAFECANVAS_QUEUE": "celery",
        "SAFECANVAS_BROKER_URL": BROKERS[args.broker],
        "SAFECANVAS_BROKER_QUEUE": queue,
    }
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    key = prepare(instance, common)
    procs: list = []
    try:
        server = Server(instance, **common)
        web = Server(instance, **celery)
        workers = [Worker(instance, f"bench{i}", **celery) for i in (1, 2)]
        procs += [server, web, *workers]
        server.start()
        web.start()
        workers[0].start()
        inproc_lat, celery_lat = paired_latencies(server, web, key, args)
        results["inprocess"] = {"latencies_s": inproc_lat, **throughput(server, key, args)}
        results["celery-1"] = {
            "latencies_s": celery_lat,
            **throughput(web, key, args, workers[:1]),
        }
        workers[1].start()
        results["celery-2"] = {
            "latencies_s": paired_latencies(server, web, key, args)[1],
            **throughput(web, key, args, workers),
        }
    finally:
        for proc in procs:
            proc.stop()
        drop()
        delete_queue(BROKERS[args.broker], queue)

    for figures in results.values():
        figures["median_latency_s"] = statistics.median(figures["latencies_s"])
    pairs = [c - i for i, c in zip(inproc_lat, celery_lat, strict=True)]
    overhead_ms = 1000 * (
        results["celery-1"]["median_latency_s"] - results["inprocess"]["median_latency_s"]
    )
    paired_overhead_ms = 1000 * statistics.median(pairs)
    speedup = results["celery-2"]["throughput_rps"] / results["celery-1"]["throughput_rps"]
    figures = {
        "broker": args.broker,
        "database": database.split(":", 1)[0],
        "requests": args.requests,
        "clients": args.clients,
        "runs": args.runs,
        "steps": args.steps,
        "torch_threads_per_process": 1,
        "celery_overhead_ms": overhead_ms,
        "celery_overhead_paired_ms": paired_overhead_ms,
        "workers2_speedup": speedup,
        "setups": results,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    heading = f"{args.requests} req, {args.clients} clients"
    print(f"{'setup':<10}  {'median latency':>14}  {heading:>20}")
    for name, r in results.items():
        latency_ms = r["median_latency_s"] * 1000
        batch = f"  mean batch {r['mean_batch_size']:.2f}" if "mean_batch_size" in r else ""
        print(f"{name:<10}  {latency_ms:>11.0f} ms  {r['throughput_rps']:>14.2f} req/s{batch}")
    print(f"celery_overhead_ms (target <= 50): {overhead_ms:.0f}")
    print(f"  median of paired differences (same moment, same load): {paired_overhead_ms:.0f}")
    print(f"workers2_speedup (target >= 1.6): {speedup:.2f}")
    print(f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
