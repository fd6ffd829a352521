"""The job queue interface: what any backend (in-process, Redis, RabbitMQ) must provide."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from typing import Any

from generation.types import GenerationRequest
from safety.verdict import Safeguards

FINAL_STATES = frozenset({"succeeded", "refused", "failed", "cancelled"})


class QueueFull(Exception):
    """The queue holds its maximum; the client should retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        """Remember when to retry."""
        super().__init__(f"queue full, retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobPayload:
    """What a worker needs to run an accepted job: typed and JSON-serialisable.

    It crosses the broker in Celery mode; new per-job settings join as fields with defaults,
    so a worker of the same release reads every payload it is sent. ``safeguards``: a guarded
    prompt's safety negative prompt and stricter image threshold (None when allowed).
    ``request_id``: the X-Request-ID of the request that made the job, for the worker's logs.
    """

    job_id: str
    request: GenerationRequest
    requester: str
    source: str
    deadline_at: float  # wall-clock time (time.time()) after which the job fails as timed out
    guard_keys: tuple[str, ...] = ()
    safeguards: Safeguards | None = None
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only; no ``safeguards`` or ``request_id`` key when there is none.

        So a worker of the release before graded verdicts still runs allowed jobs, and fails
        only guarded ones (it refuses a field it does not know).
        """
        data = asdict(self)
        data["guard_keys"] = list(self.guard_keys)
        for name in ("safeguards", "request_id"):
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobPayload:
        """The inverse of ``to_json``; a missing field raises TypeError, an extra one too."""
        request = GenerationRequest(**data["request"])
        rest = {k: v for k, v in data.items() if k != "request"}
        rest["guard_keys"] = tuple(rest.get("guard_keys", ()))
        if rest.get("safeguards") is not None:
            rest["safeguards"] = Safeguards(**rest["safeguards"])
        return cls(request=request, **rest)


@dataclass(eq=False)
class WorkItem:
    """One queued job: what to run and how to reach the requester's state while it runs.

    ``batch_key`` groups requests the pipeline can run as one batch (same model version,
    size, steps). ``cancel`` is set to ask a running job to stop; ``done`` once it ended.
    ``safeguards``: a guarded prompt's safety negative prompt and stricter image threshold,
    which the runner applies (webapp.safeguards). ``request_id``: bound to the log lines
    about the job wherever it runs (webapp.logs).
    """

    job_id: str
    request: Any
    requester: str
    source: str
    batch_key: Hashable
    deadline: float  # time.monotonic() after which the job is failed as timed out
    guard_keys: list[str] = field(default_factory=list)
    safeguards: Safeguards | None = None
    request_id: str | None = None
    gap_s: float = float("inf")  # time since the previous item was queued (set by the queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def payload(self) -> JobPayload:
        """The serialisable part, with the deadline on the wall clock."""
        return JobPayload(
            job_id=self.job_id,
            request=self.request,
            requester=self.requester,
            source=self.source,
            deadline_at=time.time() + (self.deadline - time.monotonic()),
            guard_keys=tuple(self.guard_keys),
            safeguards=self.safeguards,
            request_id=self.request_id,
        )

    @classmethod
    def from_payload(cls, payload: JobPayload, batch_key: Hashable) -> WorkItem:
        """A work item in this process for a payload received from another one."""
        return cls(
            job_id=payload.job_id,
            request=payload.request,
            requester=payload.requester,
            source=payload.source,
            batch_key=batch_key,
            deadline=time.monotonic() + (payload.deadline_at - time.time()),
            guard_keys=list(payload.guard_keys),
            safeguards=payload.safeguards,
            request_id=payload.request_id,
        )


Runner = Callable[[list[WorkItem]], None]


class JobQueue(ABC):
    """A bounded queue feeding one generation worker per device."""

    #: Jobs run in this process (and die with it); False when a broker holds them.
    local = True

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Components of the queue for /readyz (none for an in-process queue)."""
        return True, {}

    @abstractmethod
    def start(self, runner: Runner) -> None:
        """Start consuming: ``runner`` gets batches of compatible items, one batch at a time."""

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the batch that is running."""

    @abstractmethod
    def put(self, item: WorkItem) -> None:
        """Enqueue an item; raises QueueFull when the queue is at its maximum."""

    @abstractmethod
    def cancel(self, job_id: str) -> str:
        """Cancel a job: 'dequeued' (never ran), 'signalled' (running) or 'unknown'."""

    @abstractmethod
    def wait(self, job_id: str, timeout: float) -> bool:
        """Block until the job ended (True) or ``timeout`` passed (False)."""

    @abstractmethod
    def depth(self) -> int:
        """How many items wait (not counting the running batch)."""
