"""The request path shared by every interface: validate → moderate → queue → (worker) → view.

The worker side (generate → check images → store) lives in ``webapp.jobs.runner``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from flask import Flask, current_app

from generation.errors import InvalidGenerationRequest
from generation.types import GenerationRequest
from safety.errors import ModerationUnavailable
from safety.verdict import Verdict
from webapp.db import session_factory
from webapp.errors import Conflict, InvalidRequest, ModerationDown, ServiceUnavailable
from webapp.experiments import Assignment, get_experiments
from webapp.image_store import get_image_store
from webapp.interfaces import TextToImage
from webapp.job_views import JobViews
from webapp.jobs import FINAL_STATES, InProcessQueue, JobQueue, QueueFull, WorkItem
from webapp.jobs.recovery import INTERRUPTED, process_identity
from webapp.jobs.runner import BatchRunner
from webapp.jobs.store import JobStore
from webapp.limits import get_refusal_guard
from webapp.loaded_models import get_loaded_models
from webapp.logs import current_request_id
from webapp.metrics import count_error, observe_moderation
from webapp.models import Job
from webapp.params import parse_params, request_params
from webapp.refusal_log import get_refusal_log
from webapp.safeguards import guarded_request, job_moderation
from webapp.schema import uses_database

EXTENSION = "safecanvas.generation"
log = logging.getLogger(__name__)
CANCELLED = "The job was cancelled."


class GenerationService(JobViews):
    """Accepts generation requests for one app and answers questions about their jobs."""

    def __init__(self, app: Flask, queue: JobQueue) -> None:
        """Bind to the app's database, models, refusal log, guard and queue."""
        self.app, self.queue = app, queue
        self.factory = session_factory(app)
        self.jobs = JobStore(self.factory)
        self.images = get_image_store(app)
        self.models = get_loaded_models(app)
        self.refusals = get_refusal_log(app)
        self.guard = get_refusal_guard(app)
        self.experiments = get_experiments(app)
        self.timeout_s = app.config["SAFECANVAS_JOB_TIMEOUT_S"]
        self.torch_threads = app.config["SAFECANVAS_TORCH_THREADS"] or os.cpu_count() or 1
        self.identity = process_identity()
        self._lock = threading.Lock()
        self._started = self._recovered = False

    def recover(self) -> None:
        """Once per process, before its first request: fail jobs a dead process left behind."""
        if self._recovered:
            return
        with self._lock:
            if not self._recovered:
                # Celery: the broker holds the queue and redelivers a dead worker's jobs.
                self.jobs.recover(self.identity, self.timeout_s, orphans=self.queue.local)
                self._recovered = True

    def ensure_started(self) -> None:
        """Start the generation worker on first use (so CLI runs and tests start none)."""
        self.recover()
        with self._lock:
            if not self._started:
                runner = BatchRunner(
                    self.jobs,
                    self.images,
                    self.models,
                    self.refusals,
                    self.identity,
                    torch_threads=self.torch_threads,
                )
                self.queue.start(runner)
                self._started = True
                atexit.register(self.shutdown)

    def shutdown(self, wait_s: float = 10.0) -> None:
        """On a graceful exit: let the running batch finish briefly, fail what is left."""
        self.queue.stop(wait_s)
        self.jobs.fail_unfinished(self.identity, "interrupted", INTERRUPTED)

    def submit(self, params: dict[str, Any], requester: str, source: str) -> Job:
        """Validate, moderate the prompt and queue a job (with safeguards when it is guarded).

        Raises:
            InvalidRequest: bad input, naming the field.
            ContentPolicyViolation: the prompt was refused (the refusal is logged first).
            TooManyRequests: the requester is cooling down after many refusals.
            ServiceUnavailable: model loading, moderation down or queue full (Retry-After).
        """
        self.ensure_started()
        self.guard.check(requester)
        gen = self._ready_generator()
        req = parse_params(params, gen.limits)
        # A running experiment picks the version, unless the request names its own, or sets
        # lora_scale, which is for the active version's adapter (a base arm would refuse it).
        chooses = req.version is not None or req.lora_scale is not None
        arm = None if chooses else self.experiments.assign(requester)
        try:  # the model fills in its defaults, and names the version a request gets
            req = gen.validate(replace(req, version=arm.version) if arm else req)
        except InvalidGenerationRequest as exc:
            field = {"version": "model", "width": "size", "height": "size"}.get(exc.field)
            raise InvalidRequest(str(exc), param=field or exc.field) from None
        verdict = self._moderate_prompt(req, requester, source)
        if verdict.safeguards is not None:
            self._check_guarded_fits(gen, req, verdict)
        return self._enqueue(req, requester, source, verdict, arm)

    def _ready_generator(self) -> TextToImage:
        """The generator, or 503 while it loads (or failed to); with Celery, its limits only."""
        gen = self.models.generator
        if gen.ready or not self.queue.local:
            return gen
        if self.models.load_error:
            raise ServiceUnavailable("The model failed to load; see /readyz.", retry_after=60)
        raise ServiceUnavailable("The model is still loading; try again shortly.", retry_after=10)

    def _moderate_prompt(self, req: GenerationRequest, requester: str, source: str) -> Verdict:
        """The prompt's verdict; a refusal is logged and raised."""
        started = time.perf_counter()
        try:
            verdict = self.models.moderation.check_prompt(req.prompt, req.negative_prompt)
        except ModerationUnavailable:
            count_error(ModerationDown.code)
            raise ModerationDown() from None
        observe_moderation("prompt", time.perf_counter() - started)
        if not verdict.allowed:
            raise self.refusals.refuse(verdict, req, requester, source)
        return verdict

    @staticmethod
    def _check_guarded_fits(gen: TextToImage, req: GenerationRequest, verdict: Verdict) -> None:
        """The safety negative prompt must fit beside the request's own (400 naming it if not)."""
        try:
            gen.validate(guarded_request(req, verdict.safeguards))
        except InvalidGenerationRequest:
            room = gen.limits.max_prompt_chars - len(verdict.safeguards.negative_prompt) - 2
            raise InvalidRequest(
                "This prompt is generated with a safety negative prompt, so negative_prompt may "
                f"be at most {max(room, 0)} characters.",
                param="negative_prompt",
            ) from None

    def _enqueue(
        self,
        req: GenerationRequest,
        requester: str,
        source: str,
        verdict: Verdict,
        arm: Assignment | None = None,
    ) -> Job:
        """Log a guarded prompt, store the job row, then queue it.

        The job keeps the request's id (its row, its payload: the worker's log lines carry
        it). A full queue fails the job with 503 + Retry-After.
        """
        job_id = str(uuid.uuid4())
        log_id = None
        if verdict.action == "guard":
            log_id = self.refusals.record_guarded(verdict, req, requester, source, job_id).id
        job = Job(
            id=job_id,
            requester=requester,
            source=source,
            status="queued",
            progress=0.0,
            params=request_params(req),
            model_version=req.version,
            experiment_id=arm.experiment_id if arm else None,
            experiment_arm=arm.version if arm else None,
            worker=self.identity if self.queue.local else None,  # Celery: set by the worker
            moderation=job_moderation(verdict, log_id),
            request_id=current_request_id(),
        )
        self.jobs.create(job)
        item = WorkItem(
            job_id=job.id,
            request=req,
            requester=requester,
            source=source,
            batch_key=self.models.generator.batch_key(req),
            deadline=time.monotonic() + self.timeout_s,
            guard_keys=self.guard.keys_for(requester),
            safeguards=verdict.safeguards,
            request_id=job.request_id,
        )
        try:
            self.queue.put(item)
        except QueueFull as exc:
            self.jobs.finish(job.id, "failed", code="queue_full", message="The queue was full.")
            raise ServiceUnavailable(
                "Too many jobs are waiting; try again shortly.", retry_after=exc.retry_after
            ) from None
        log.info("job %s queued for %s (%s, %s)", job.id, requester, source, verdict.action)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job ended or the job timeout passed (for the synchronous API)."""
        self.queue.wait(job_id, self.timeout_s + 5 if timeout is None else timeout)

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """The queue's own components for /readyz (the broker and its workers, with Celery)."""
        return self.queue.readiness()

    def cancel(self, job_id: str, requester: str, is_admin: bool) -> dict[str, Any]:
        """Cancel a queued or running job; 409 if it already finished another way."""
        view = self.job_view(job_id, requester, is_admin)
        if view["status"] in FINAL_STATES:
            if view["status"] == "cancelled":
                return view
            raise Conflict(f"The job already {view['status']}.")
        outcome = self.queue.cancel(job_id)
        if outcome != "signalled":  # never ran here (or its process is gone)
            self.jobs.finish(job_id, "cancelled", code="cancelled", message=CANCELLED)
        else:
            self.queue.wait(job_id, 2.0)
        return self.job_view(job_id, requester, is_admin)


def make_queue(app: Flask) -> JobQueue:
    """The configured backend: in this process (default), or Celery workers via a broker."""
    cfg = app.config
    if cfg["SAFECANVAS_QUEUE"] == "celery":
        from webapp.jobs.celery_app import make_celery
        from webapp.jobs.celery_queue import CeleryQueue

        jobs = JobStore(session_factory(app))
        return CeleryQueue(make_celery(cfg), jobs, max_size=cfg["SAFECANVAS_QUEUE_MAX"])
    return InProcessQueue(
        max_size=cfg["SAFECANVAS_QUEUE_MAX"],
        batch_max=cfg["SAFECANVAS_BATCH_MAX"],
        batch_wait_s=cfg["SAFECANVAS_BATCH_WAIT_MS"] / 1000,
    )


def init_app(app: Flask) -> None:
    """Attach the generation service with the configured queue."""
    queue = make_queue(app)
    service = GenerationService(app, queue)
    app.extensions[EXTENSION] = service
    app.before_request(lambda: service.recover() if uses_database() else None)


def get_generation_service(app: Flask | None = None) -> GenerationService:
    """The current app's generation service."""
    return (app or current_app).extensions[EXTENSION]
