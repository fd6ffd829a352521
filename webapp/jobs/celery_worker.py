"""A GPU worker: one process per device, consuming the generation queue of the broker.

``flask --app webapp worker`` (``make worker``) runs it. The process loads the model and the
image check once, then Celery hands it up to ``SAFECANVAS_BATCH_MAX`` jobs at a time (its
prefetch window, one pool thread per held job). Those jobs go through the same in-process
micro-batcher and ``BatchRunner`` as the single-process server, so compatible jobs that
wait together run as one pipeline batch, and the device runs one batch at a time.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from flask import Flask

from webapp.db import session_factory
from webapp.image_store import get_image_store
from webapp.jobs.base import JobPayload, WorkItem
from webapp.jobs.celery_app import TASK, broker_name, make_celery
from webapp.jobs.celery_queue import CeleryQueue
from webapp.jobs.inprocess import InProcessQueue
from webapp.jobs.recovery import process_identity
from webapp.jobs.runner import BatchRunner
from webapp.jobs.store import JobStore
from webapp.loaded_models import get_loaded_models
from webapp.logs import bound
from webapp.metrics import serve_worker_metrics
from webapp.refusal_log import get_refusal_log

log = logging.getLogger(__name__)


class GenerationWorker:
    """The loaded model, the batcher and the runner of one worker process."""

    def __init__(self, app: Flask) -> None:
        """Bind to the app's stores and models; nothing loads yet."""
        cfg = app.config
        self.app = app
        self.models = get_loaded_models(app)
        self.models.generates_here = True
        self.identity = process_identity()
        self.jobs = JobStore(session_factory(app))
        self.batch_max = cfg["SAFECANVAS_BATCH_MAX"]
        self.runner = BatchRunner(
            self.jobs,
            get_image_store(app),
            self.models,
            get_refusal_log(app),
            self.identity,
            torch_threads=cfg["SAFECANVAS_TORCH_THREADS"] or os.cpu_count() or 1,
        )
        self.batcher = InProcessQueue(
            max_size=2 * self.batch_max,
            batch_max=self.batch_max,
            batch_wait_s=cfg["SAFECANVAS_BATCH_WAIT_MS"] / 1000,
        )
        self.celery = make_celery(cfg)
        # Not shared: a later Celery app in this process (tests) must not get this one's task.
        task = self.celery.task(name=TASK, acks_late=True, ignore_result=True, shared=False)
        task(self._task())
        self.broker = CeleryQueue(self.celery, self.jobs, cfg["SAFECANVAS_QUEUE_MAX"])

    def _task(self):
        """The Celery task body: run one job here and return when it has ended."""

        def generate(payload: dict[str, Any]) -> str:
            """Queue the job on this worker's batcher and wait for its end."""
            job_id = str(payload.get("job_id"))
            with bound(payload.get("request_id"), job_id):
                try:
                    job = JobPayload.from_json(payload)
                except (TypeError, KeyError, AttributeError) as exc:  # another release's payload
                    log.error("cannot read the payload of job %s: %s", job_id, exc)
                    message = "A worker of another release received this job; submit it again."
                    self.jobs.finish(job_id, "failed", code="worker_mismatch", message=message)
                    return job_id
                return self.run(job)

        return generate

    def run(self, payload: JobPayload) -> str:
        """Hand a job to the batcher and wait; its final state is in the database.

        Log lines about the job carry its request id, here and in the batcher's thread.
        """
        with bound(payload.request_id, payload.job_id):
            try:
                key = self.models.generator.batch_key(payload.request)
            except Exception as exc:  # e.g. a version this worker's model folder lacks
                log.warning("job %s cannot run here: %s", payload.job_id, exc)
                self.jobs.finish(payload.job_id, "failed", code="invalid_request", message=str(exc))
                return payload.job_id
            log.info("job %s taken from the broker", payload.job_id)
            item = WorkItem.from_payload(payload, key)
            self.batcher.put(item)
            item.done.wait()
        return payload.job_id

    def load(self) -> None:
        """Load the model and moderation; raise if either failed (a worker must not consume)."""
        self.models.load()
        if self.models.load_error:
            raise RuntimeError(f"loading models failed: {self.models.load_error}")

    def serve(self, name: str | None = None, metrics_address: str = "") -> None:
        """Consume the queue until a signal stops the worker (warm shutdown finishes jobs)."""
        self.load()
        if metrics_address:
            host, _, port = metrics_address.rpartition(":")
            serve_worker_metrics(
                host, int(port), self.broker.depth, self.models.generator.device_memory
            )
        self.batcher.start(self.runner)
        url = self.celery.conf.broker_url
        log.info(
            "worker %s on %s consuming %s from %s",
            self.identity,
            self.models.generator.device,
            self.broker.queue.name,
            broker_name(url),
        )
        self.celery.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={self.batch_max}",
                f"--queues={self.broker.queue.name}",
                f"--hostname={name or f'gen{os.getpid()}@{socket.gethostname()}'}",
                "--without-gossip",
                "--without-mingle",
                f"--loglevel={self.app.config['SAFECANVAS_LOG_LEVEL']}",
            ]
        )
        self.batcher.stop()
