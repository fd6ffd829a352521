"""The job queue interface: what any backend (in-process, Redis, RabbitMQ) must provide."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

FINAL_STATES = frozenset({"succeeded", "refused", "failed", "cancelled"})


class QueueFull(Exception):
    """The queue holds its maximum; the client should retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        """Remember when to retry."""
        super().__init__(f"queue full, retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(eq=False)
class WorkItem:
    """One queued job: what to run and how to reach the requester's state while it runs.

    ``batch_key`` groups requests the pipeline can run as one batch (same model version,
    size, steps). ``cancel`` is set to ask a running job to stop; ``done`` once it ended.
    """

    job_id: str
    request: Any
    requester: str
    source: str
    batch_key: Hashable
    deadline: float  # time.monotonic() after which the job is failed as timed out
    guard_keys: list[str] = field(default_factory=list)
    gap_s: float = float("inf")  # time since the previous item was queued (set by the queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


Runner = Callable[[list[WorkItem]], None]


class JobQueue(ABC):
    """A bounded queue feeding one generation worker per device."""

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
