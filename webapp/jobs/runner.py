"""Runs one batch: generate → check every image → store or refuse → final job state.

The same runner serves both backends: the in-process queue's worker thread and a Celery
worker process (``webapp.jobs.celery_worker``). Job state changes go through ``JobStore``.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from generation.errors import GenerationCancelled, InvalidGenerationRequest
from safety.errors import ModerationUnavailable
from textencoder.runtime import use_torch_threads
from webapp.errors import ModerationDown
from webapp.image_store import ImageStore
from webapp.jobs.base import WorkItem
from webapp.jobs.store import TIMED_OUT, JobStore
from webapp.logs import bound
from webapp.metrics import (
    count_error,
    count_stopped_batch,
    observe_generation,
    observe_moderation,
)
from webapp.models import Image
from webapp.safeguards import guarded_request

if TYPE_CHECKING:
    from safety.verdict import Verdict
    from webapp.loaded_models import LoadedModels
    from webapp.refusal_log import RefusalLog

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # throttle: a progress write per step would hammer SQLite
CANCEL_POLL_S = 0.25  # how often a running batch asks the database who still wants it
GENERATION_SHARE = 0.95  # the image check and storing take the last few percent


def about(*items: WorkItem) -> AbstractContextManager:
    """Log lines inside are about this job: they carry its request id and job id.

    A line about a whole batch of several jobs names their ids in its text instead.
    """
    if len(items) != 1:
        return nullcontext()
    return bound(items[0].request_id, items[0].job_id)


class BatchWatch:
    """Progress writes and cancel checks of one running batch, both throttled.

    A job cancelled by any process (its row left 'running') stops being wanted; the
    pipeline stops at its next step once nobody in the batch wants the result.
    """

    def __init__(self, jobs: JobStore, items: list[WorkItem]) -> None:
        """Watch these items' jobs."""
        self.jobs, self.items = jobs, items
        self._last_progress = self._last_poll = time.monotonic()

    def _keep(self, running: set[str]) -> None:
        """Flag the items whose job was ended elsewhere."""
        for item in self.items:
            if item.job_id not in running:
                item.cancel.set()

    def progress(self, step: int, total: int) -> None:
        """Progress callback of the generator: (steps done, total steps)."""
        now = time.monotonic()
        if step < total and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = self._last_poll = now
        value = GENERATION_SHARE * step / max(total, 1)
        self._keep(self.jobs.progress([i.job_id for i in self.items], value))

    def should_cancel(self) -> bool:
        """Stop the pipeline only when nobody in the batch still wants the result."""
        now = time.monotonic()
        if now - self._last_poll >= CANCEL_POLL_S:
            self._last_poll = now
            self._keep(self.jobs.running([i.job_id for i in self.items]))
        return all(i.cancel.is_set() or now > i.deadline for i in self.items)


class BatchRunner:
    """The queue's runner; owns everything after a job was accepted."""

    def __init__(
        self,
        jobs: JobStore,
        images: ImageStore,
        models: LoadedModels,
        refusal_log: RefusalLog,
        worker: str,
        torch_threads: int = 1,
    ) -> None:
        """Bind to the job and image stores, models, refusal log and this process's identity."""
        self.jobs, self.images, self.models = jobs, images, models
        self.refusal_log = refusal_log
        self.worker = worker
        self.torch_threads = torch_threads

    def __call__(self, batch: list[WorkItem]) -> None:
        """Run a batch of compatible items as one pipeline call, then end every job."""
        use_torch_threads(self.torch_threads)
        live = [item for item in batch if self._start(item)]
        results = self._generate(live) if live else None
        if results is None:
            return
        for item, result in zip(live, results, strict=True):
            with about(item):
                self._finish(item, result)

    def _finish(self, item: WorkItem, result: Any) -> None:
        """Check and store one job's images, unless it was cancelled or timed out meanwhile."""
        if item.cancel.is_set() or time.monotonic() > item.deadline:
            self._end_interrupted(item)
            return
        try:
            self._check_and_store(item, result)
        except Exception:  # e.g. a full disk: the job must still end, and say so
            log.exception("checking or storing the images of job %s failed", item.job_id)
            count_error("store_failed")
            self._end(item, "failed", code="generation_failed", message="Storing failed.")

    def _generate(self, live: list[WorkItem]) -> list[Any] | None:
        """The pipeline call; on failure every job is ended and None returned."""
        gen = self.models.generator
        watch = BatchWatch(self.jobs, live)
        started = time.perf_counter()
        try:
            reqs = [guarded_request(i.request, i.safeguards) for i in live]
            results = gen.generate_batch(
                reqs, progress=watch.progress, should_cancel=watch.should_cancel
            )
        except GenerationCancelled:
            count_stopped_batch()
            for item in live:
                self._end_interrupted(item)
            return None
        except InvalidGenerationRequest as exc:
            for item in live:
                self._end(item, "failed", code="invalid_request", message=str(exc))
            return None
        except Exception:
            with about(*live):
                log.exception("generation failed for jobs %s", [i.job_id for i in live])
            count_error("generation_failed")
            for item in live:
                self._end(item, "failed", code="generation_failed", message="Generation failed.")
            return None
        steps = live[0].request.steps or 0
        observe_generation(results[0].version, time.perf_counter() - started, steps, len(live))
        return results

    def _start(self, item: WorkItem) -> bool:
        """Mark a job running; a cancelled or expired one ends here instead."""
        if item.cancel.is_set() or time.monotonic() > item.deadline:
            self._end_interrupted(item)
            return False
        with about(item):
            started = self.jobs.start(item.job_id, self.worker)
            if started:
                log.info("job %s running on %s", item.job_id, self.worker)
            else:
                log.warning("job %s not started: it ended already or lost its worker", item.job_id)
        return started

    def _end_interrupted(self, item: WorkItem) -> None:
        """Cancelled by the requester, or past its deadline."""
        if item.cancel.is_set():
            self._end(item, "cancelled", code="cancelled", message="The job was cancelled.")
        else:
            self._end(item, "failed", code="timeout", message=TIMED_OUT)

    def _end(self, item: WorkItem, status: str, **fields: Any) -> None:
        """Write a final state (the store ignores a job that has one already)."""
        with about(item):
            if self.jobs.finish(item.job_id, status, **fields):
                level = logging.WARNING if status == "failed" else logging.INFO
                log.log(level, "job %s %s: %s", item.job_id, status, fields.get("code"))

    def _check_and_store(self, item: WorkItem, result: Any) -> None:
        """Check every image; one refused image refuses the job (no image is blacked out).

        A guarded job's images must pass its stricter threshold.
        """
        moderation = self.models.moderation
        threshold = item.safeguards.image_threshold if item.safeguards else None
        try:
            for generated in result.images:
                t0 = time.perf_counter()
                verdict = moderation.check_image(generated.image, threshold=threshold)
                observe_moderation("image", time.perf_counter() - t0)
                if not verdict.allowed:
                    return self._refuse(item, verdict, result.version)
        except ModerationUnavailable as exc:
            log.error("image moderation unavailable for job %s: %s", item.job_id, exc)
            count_error(ModerationDown.code)
            message = "Image moderation is unavailable, so the images were withheld."
            self._end(item, "failed", code=ModerationDown.code, message=message)
            return None
        self._store(item, result, moderation.version)
        return None

    def _refuse(self, item: WorkItem, verdict: Verdict, version: str) -> None:
        """Refuse the job through the refusal log; no image of it is stored."""
        answer = self.refusal_log.refuse(
            verdict, item.request, item.requester, item.source, item.guard_keys, item.job_id
        )
        self._end(
            item,
            "refused",
            code=answer.code,
            message=answer.message,
            refusal_id=answer.refusal_id,
            model_version=version,
            moderator_version=verdict.moderator_version,
        )

    def _store(self, item: WorkItem, result: Any, moderator: str) -> None:
        """Store the PNGs, then the Image rows and the final state in one transaction."""
        rows, keys = [], []
        for position, generated in enumerate(result.images):
            image_id, key = self.images.save(item.job_id, generated.image)
            keys.append(key)
            rows.append(
                Image(
                    id=image_id,
                    job_id=item.job_id,
                    requester=item.requester,
                    position=position,
                    seed=int(generated.seed),
                    path=key,
                    prompt=item.request.prompt,
                    model_version=result.version,
                    moderator_version=moderator,
                )
            )
        if not self.jobs.succeed(item.job_id, result.version, moderator, rows):
            for key in keys:  # ended meanwhile (cancelled elsewhere): keep no images
                self.images.delete(key)
            return
        log.info("job %s succeeded: %d image(s) from %s", item.job_id, len(rows), result.version)
