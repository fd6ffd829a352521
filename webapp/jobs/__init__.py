"""Generation jobs: a queue interface, the in-process backend and crash recovery."""

from __future__ import annotations

from webapp.jobs.base import FINAL_STATES, JobQueue, QueueFull, WorkItem
from webapp.jobs.inprocess import InProcessQueue

__all__ = ["FINAL_STATES", "InProcessQueue", "JobQueue", "QueueFull", "WorkItem"]
