"""The in-process backend: a bounded deque and one worker thread that micro-batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from webapp.jobs.base import JobQueue, QueueFull, Runner, WorkItem
from webapp.metrics import set_queue_depth

log = logging.getLogger(__name__)


class InProcessQueue(JobQueue):
    """Compatible queued items (same ``batch_key``) run together, up to ``batch_max``.

    After taking the first item the worker waits at most ``batch_wait_s`` for compatible
    ones to arrive: a little latency buys throughput under load. A request that arrived
    alone (nothing queued, none just before it, no shared batch just ended) starts at once.
    """

    def __init__(self, max_size: int, batch_max: int, batch_wait_s: float) -> None:
        """Bounds, batch size and wait window (seconds)."""
        self.max_size = max_size
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self._items: deque[WorkItem] = deque()
        self._live: dict[str, WorkItem] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._last_put = float("-inf")
        self._last_batch_end = float("-inf")
        self._last_batch_size = 0
        self.retry_after = 5

    def start(self, runner: Runner) -> None:
        """Start the one worker thread (idempotent)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._work, args=(runner,), name="generation-worker", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to stop and wait for it a bounded time."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def put(self, item: WorkItem) -> None:
        """Enqueue; QueueFull when ``max_size`` items already wait."""
        with self._cond:
            if len(self._items) >= self.max_size:
                raise QueueFull(self.retry_after)
            now = time.monotonic()
            item.gap_s, self._last_put = now - self._last_put, now
            self._items.append(item)
            self._live[item.job_id] = item
            set_queue_depth(len(self._items))
            self._cond.notify_all()

    def cancel(self, job_id: str) -> str:
        """Drop a waiting item, or flag a running one for the runner to stop."""
        with self._cond:
            item = self._live.get(job_id)
            if item is None:
                return "unknown"
            item.cancel.set()
            if item in self._items:
                self._items.remove(item)
                self._finish(item)
                return "dequeued"
            return "signalled"

    def wait(self, job_id: str, timeout: float) -> bool:
        """Wait for an item's end; an unknown id has ended already (or never was ours)."""
        with self._cond:
            item = self._live.get(job_id)
        return True if item is None else item.done.wait(timeout)

    def depth(self) -> int:
        """Items waiting for the worker."""
        with self._cond:
            return len(self._items)

    def _finish(self, item: WorkItem) -> None:
        """Forget an item and wake its waiters (caller holds the lock)."""
        self._live.pop(item.job_id, None)
        set_queue_depth(len(self._items))
        item.done.set()

    def _next_batch(self) -> list[WorkItem] | None:
        """The first waiting item plus compatible ones, within the wait window."""
        with self._cond:
            while not self._items and not self._stopping:
                self._cond.wait(timeout=1.0)
            if self._stopping:
                return None
            batch = [self._items.popleft()]
            # Right after a shared batch, its clients are sending their next requests: wait.
            just_busy = (
                self._last_batch_size > 1
                and time.monotonic() - self._last_batch_end < self.batch_wait_s
            )
            alone = not self._items and batch[0].gap_s > self.batch_wait_s and not just_busy
            window_ends = time.monotonic() + (0.0 if alone else self.batch_wait_s)
            while len(batch) < self.batch_max:
                for item in [i for i in self._items if i.batch_key == batch[0].batch_key]:
                    if len(batch) >= self.batch_max:
                        break
                    self._items.remove(item)
                    batch.append(item)
                remaining = window_ends - time.monotonic()
                if len(batch) >= self.batch_max or remaining <= 0 or self._stopping:
                    break
                self._cond.wait(remaining)
            set_queue_depth(len(self._items))
            return batch

    def _work(self, runner: Runner) -> None:
        """Run batches until stopped; a failing batch never kills the worker."""
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                runner(batch)
            except Exception:  # the runner records failures itself; this is a last resort
                log.exception("generation batch of jobs %s crashed", [i.job_id for i in batch])
            finally:
                with self._cond:
                    for item in batch:
                        self._finish(item)
                    self._last_batch_end = time.monotonic()
                    self._last_batch_size = len(batch)
