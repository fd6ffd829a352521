"""Runs one batch: generate → check every image → store or refuse → final job state."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from generation.errors import GenerationCancelled, InvalidGenerationRequest
from safety.errors import ModerationUnavailable
from textencoder.runtime import use_torch_threads
from webapp.db import session_scope
from webapp.errors import ModerationDown
from webapp.jobs.base import WorkItem
from webapp.metrics import count_error, count_job, observe_generation, observe_moderation
from webapp.models import Image, Job, utcnow

if TYPE_CHECKING:
    from safety.verdict import Verdict
    from webapp.loaded_models import LoadedModels
    from webapp.refusal_log import RefusalLog

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # throttle: a progress write per step would hammer SQLite
GENERATION_SHARE = 0.95  # the image check and storing take the last few percent


class ProgressWriter:
    """Persists per-step progress of a batch's jobs, at most every PROGRESS_EVERY_S."""

    def __init__(self, factory: sessionmaker, job_ids: list[str]) -> None:
        """Write progress for these jobs."""
        self.factory, self.job_ids = factory, job_ids
        self._last = 0.0

    def __call__(self, step: int, total: int) -> None:
        """Progress callback of the generator: (steps done, total steps)."""
        now = time.monotonic()
        if step < total and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        value = GENERATION_SHARE * step / max(total, 1)
        with session_scope(self.factory) as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(self.job_ids), Job.status == "running")
                .values(progress=value)
            )


class BatchRunner:
    """The queue's runner; owns everything after a job was accepted."""

    def __init__(
        self,
        factory: sessionmaker,
        models: LoadedModels,
        refusal_log: RefusalLog,
        image_dir: str,
        torch_threads: int = 0,
    ) -> None:
        """Bind to the app's database, models, refusal log and image folder."""
        self.factory, self.models, self.refusal_log = factory, models, refusal_log
        self.image_dir = Path(image_dir)
        self.torch_threads = torch_threads or os.cpu_count() or 1

    def __call__(self, batch: list[WorkItem]) -> None:
        """Run a batch of compatible items as one pipeline call, then end every job."""
        use_torch_threads(self.torch_threads)
        live = [item for item in batch if self._start(item)]
        results = self._generate(live) if live else None
        if results is None:
            return
        for item, result in zip(live, results, strict=True):
            if item.cancel.is_set() or time.monotonic() > item.deadline:
                self._end_interrupted(item)
                continue
            try:
                self._check_and_store(item, result)
            except Exception:  # e.g. a full disk: the job must still end, and say so
                log.exception("checking or storing the images of job %s failed", item.job_id)
                count_error("store_failed")
                self._end(item, "failed", code="generation_failed", message="Storing failed.")

    def _generate(self, live: list[WorkItem]) -> list[Any] | None:
        """The pipeline call; on failure every job is ended and None returned."""
        gen = self.models.generator

        def should_cancel() -> bool:
            """Stop the pipeline only when nobody in the batch still wants the result."""
            now = time.monotonic()
            return all(i.cancel.is_set() or now > i.deadline for i in live)

        progress = ProgressWriter(self.factory, [i.job_id for i in live])
        started = time.perf_counter()
        try:
            reqs = [i.request for i in live]
            results = gen.generate_batch(reqs, progress=progress, should_cancel=should_cancel)
        except GenerationCancelled:
            for item in live:
                self._end_interrupted(item)
            return None
        except InvalidGenerationRequest as exc:
            for item in live:
                self._end(item, "failed", code="invalid_request", message=str(exc))
            return None
        except Exception:
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
        with session_scope(self.factory) as session:
            started = session.execute(
                update(Job)
                .where(Job.id == item.job_id, Job.status == "queued")
                .values(status="running", started_at=utcnow(), progress=0.0)
            )
        # Zero rows: another process (or an admin) already ended it, e.g. cancelled it.
        return started.rowcount == 1

    def _end_interrupted(self, item: WorkItem) -> None:
        """Cancelled by the requester, or past its deadline."""
        if item.cancel.is_set():
            self._end(item, "cancelled", code="cancelled", message="The job was cancelled.")
        else:
            self._end(item, "failed", code="timeout", message="The job did not finish in time.")

    def _end(self, item: WorkItem, status: str, **fields: Any) -> None:
        """Write a final state (only over a job that has none yet)."""
        values = {
            "status": status,
            "finished_at": utcnow(),
            "error_code": fields.get("code"),
            "error_message": fields.get("message"),
        }
        values.update({k: v for k, v in fields.items() if k not in {"code", "message"}})
        with session_scope(self.factory) as session:
            session.execute(
                update(Job)
                .where(Job.id == item.job_id, Job.status.in_(("queued", "running")))
                .values(**values)
            )
        count_job(status)

    def _check_and_store(self, item: WorkItem, result: Any) -> None:
        """Check every image; one refused image refuses the job (no image is blacked out)."""
        moderation = self.models.moderation
        try:
            for generated in result.images:
                t0 = time.perf_counter()
                verdict = moderation.check_image(generated.image)
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
            verdict, item.request, item.requester, item.source, item.guard_keys
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

    def _write_pngs(self, item: WorkItem, result: Any, moderator: str) -> list[Image]:
        """Write each image atomically under the image folder; the rows to insert."""
        folder = self.image_dir / item.job_id[:2]
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for position, generated in enumerate(result.images):
            image_id = str(uuid.uuid4())
            relative = f"{item.job_id[:2]}/{image_id}.png"
            tmp = folder / f".{image_id}.tmp"
            generated.image.save(tmp, format="PNG")
            os.replace(tmp, self.image_dir / relative)
            rows.append(
                Image(
                    id=image_id,
                    job_id=item.job_id,
                    requester=item.requester,
                    position=position,
                    seed=int(generated.seed),
                    path=relative,
                    prompt=item.request.prompt,
                    model_version=result.version,
                    moderator_version=moderator,
                )
            )
        return rows

    def _store(self, item: WorkItem, result: Any, moderator: str) -> None:
        """Write the PNGs, then the Image rows and the final state in one transaction."""
        rows = self._write_pngs(item, result, moderator)
        with session_scope(self.factory) as session:
            done = session.execute(
                update(Job)
                .where(Job.id == item.job_id, Job.status == "running")
                .values(
                    status="succeeded",
                    progress=1.0,
                    finished_at=utcnow(),
                    model_version=result.version,
                    moderator_version=moderator,
                )
            )
            if done.rowcount != 1:  # ended meanwhile (cancelled elsewhere): keep no images
                for row in rows:
                    (self.image_dir / row.path).unlink(missing_ok=True)
                return
            session.add_all(rows)
        count_job("succeeded")
