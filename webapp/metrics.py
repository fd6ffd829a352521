"""Prometheus metrics and the protected ``/metrics`` endpoint.

Other modules record through the functions here, never through prometheus_client directly,
so metric names live in one place. ``/metrics`` answers loopback clients only, unless
``SAFECANVAS_METRICS_TOKEN`` is set, in which case it asks for ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from webapp.errors import Forbidden

REGISTRY = CollectorRegistry(auto_describe=True)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320)

REQUEST_LATENCY = Histogram(
    "safecanvas_http_request_seconds",
    "HTTP request latency by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
GENERATION_LATENCY = Histogram(
    "safecanvas_generation_seconds",
    "Wall time of one generation batch, by model version.",
    ["version"],
    buckets=_SLOW,
    registry=REGISTRY,
)
STEP_LATENCY = Histogram(
    "safecanvas_generation_step_seconds",
    "Mean time of one denoising step in a batch, by model version.",
    ["version"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "safecanvas_batch_requests",
    "Requests run together in one pipeline batch.",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "safecanvas_queue_depth",
    "Jobs waiting for the generation worker.",
    multiprocess_mode="livesum",  # gunicorn workers each hold their own in-process queue
    registry=REGISTRY,
)
REFUSALS = Counter(
    "safecanvas_refusals_total",
    "Refused prompts and images by stage, category and the model version asked for.",
    ["stage", "category", "version"],
    registry=REGISTRY,
)
GUARDED = Counter(
    "safecanvas_guarded_total",
    "Prompts generated with safeguards (guard verdicts) by stage, category and model version.",
    ["stage", "category", "version"],
    registry=REGISTRY,
)
MODERATION_LATENCY = Histogram(
    "safecanvas_moderation_seconds",
    "Latency of a moderation check by kind (prompt or image).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
    registry=REGISTRY,
)
ERRORS = Counter(
    "safecanvas_errors_total", "Server-side failures by kind.", ["kind"], registry=REGISTRY
)
JOBS = Counter(
    "safecanvas_jobs_total",
    "Jobs by final status and model version.",
    ["status", "version"],
    registry=REGISTRY,
)
STOPPED = Counter(
    "safecanvas_batches_stopped_total",
    "Pipeline batches stopped before their last step: every job in them was cancelled.",
    registry=REGISTRY,
)
CANARY_ROLLBACKS = Counter(
    "safecanvas_canary_rollbacks_total",
    "Canary versions the automatic check took off traffic (docs/deploy.md, Experiments).",
    ["version"],
    registry=REGISTRY,
)

FEEDBACK_VOTES = Counter(
    "safecanvas_feedback_votes_total",
    "Thumbs up, down or cleared on generated images, by the version that made them.",
    ["version", "vote"],
    registry=REGISTRY,
)
USER_REPORTS = Counter(
    "safecanvas_user_reports_total",
    "Images users reported (into the moderation review queue) by version and category.",
    ["version", "category"],
    registry=REGISTRY,
)

# Where a version label has no version: the model was not known (old rows, failed validation).
NO_VERSION = "unknown"

bp = Blueprint("metrics", __name__)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Record one HTTP request (called by the request logger)."""
    REQUEST_LATENCY.labels(endpoint or "unmatched", method, str(status)).observe(seconds)


def observe_generation(version: str, seconds: float, steps: int, batch: int) -> None:
    """Record one pipeline batch: total time, per-step time and how many requests it held."""
    GENERATION_LATENCY.labels(version).observe(seconds)
    if steps:
        STEP_LATENCY.labels(version).observe(seconds / steps)
    BATCH_SIZE.observe(batch)


def observe_refusal(
    stage: str, categories: tuple[str, ...] | list[str], version: str | None = None
) -> None:
    """Count a refusal of a request for ``version`` once per category it named."""
    for category in categories or ("unspecified",):
        REFUSALS.labels(stage, category, version or NO_VERSION).inc()


def observe_guarded(
    stage: str, categories: tuple[str, ...] | list[str], version: str | None = None
) -> None:
    """Count a guarded prompt for ``version`` once per category it named."""
    for category in categories or ("unspecified",):
        GUARDED.labels(stage, category, version or NO_VERSION).inc()


def observe_moderation(kind: str, seconds: float) -> None:
    """Record the latency of one prompt or image check."""
    MODERATION_LATENCY.labels(kind).observe(seconds)


def set_queue_depth(depth: int) -> None:
    """Publish the current number of queued jobs."""
    QUEUE_DEPTH.set(depth)


def count_error(kind: str) -> None:
    """Count a server-side failure (generation_failed, moderation_unavailable, ...)."""
    ERRORS.labels(kind).inc()


def count_stopped_batch() -> None:
    """Count a batch the pipeline stopped early because nobody wanted its result."""
    STOPPED.inc()


def count_feedback_vote(version: str, vote: str) -> None:
    """Count a vote given on an image of ``version`` (up, down or none)."""
    FEEDBACK_VOTES.labels(version, vote).inc()


def count_user_report(version: str, category: str | None) -> None:
    """Count a user's report of an image of ``version``."""
    USER_REPORTS.labels(version, category or "unspecified").inc()


def count_canary_rollback(version: str) -> None:
    """Count an automatic canary rollback of ``version``."""
    CANARY_ROLLBACKS.labels(version).inc()


def count_job(status: str, version: str | None = None) -> None:
    """Count a job of ``version`` reaching a final status."""
    JOBS.labels(status, version or NO_VERSION).inc()


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition, for loopback or bearer-token clients."""
    token = current_app.config.get("SAFECANVAS_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Forbidden("A valid metrics token is required.")
    elif request.remote_addr not in {"127.0.0.1", "::1"}:
        raise Forbidden("Metrics are served to loopback clients only; set a metrics token.")
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)


class WorkerCollector:
    """Read at scrape time in a GPU worker: the broker's queue and the device's memory."""

    def __init__(self, depth: Callable[[], int], memory: Callable[[], dict[str, int]]) -> None:
        """``depth()`` counts waiting jobs, ``memory()`` maps kind -> bytes."""
        self.depth, self.memory = depth, memory

    def collect(self):
        """Two gauges; a broker that does not answer leaves the depth out."""
        depth = GaugeMetricFamily(
            "safecanvas_broker_queue_depth", "Jobs waiting in the broker for any GPU worker."
        )
        try:
            depth.add_metric([], self.depth())
        except Exception:  # a scrape must not fail because the broker is away
            pass
        yield depth
        memory = GaugeMetricFamily(
            "safecanvas_device_memory_bytes", "Device memory torch holds.", labels=["kind"]
        )
        for kind, value in self.memory().items():
            memory.add_metric([kind], value)
        yield memory


def serve_worker_metrics(
    host: str, port: int, depth: Callable[[], int], memory: Callable[[], dict[str, int]]
) -> None:
    """Serve this worker's metrics (jobs, batches, latency, queue, memory) over HTTP."""
    REGISTRY.register(WorkerCollector(depth, memory))
    start_http_server(port, addr=host or "0.0.0.0", registry=REGISTRY)


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The metrics text; under gunicorn, the sum over every worker process.

    ``PROMETHEUS_MULTIPROC_DIR`` is prometheus_client's own switch (gunicorn.conf.py sets
    it): each process then writes its values to files there, and a scrape adds them up.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return generate_latest(combined)
    return generate_latest(registry)
