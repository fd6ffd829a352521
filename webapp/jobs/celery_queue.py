"""The Celery backend of ``JobQueue``, as the web tier sees it: send, count, wait, cancel.

The web tier runs no generation here: ``start`` and ``stop`` do nothing, jobs go to the
broker, and the database (``JobStore``) says how they end. A cancel is a final state in the
database: a queued job's message is dropped by the worker that receives it, a running batch
notices at its next check (``BatchWatch``).
"""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery
from kombu import Queue

from webapp.jobs.base import JobQueue, QueueFull, Runner, WorkItem
from webapp.jobs.celery_app import TASK, broker_name
from webapp.jobs.store import JobStore

WORKERS_CACHE_S = 5.0  # /readyz asks the workers at most this often
WAIT_POLL_S = 0.02  # how often a web process reads the rows of the jobs its threads wait on
log = logging.getLogger(__name__)


class CeleryQueue(JobQueue):
    """Jobs as Celery messages on the durable generation queue."""

    local = False

    def __init__(self, celery: Celery, jobs: JobStore, max_size: int) -> None:
        """Send through ``celery``; at most ``max_size`` jobs may wait in the broker."""
        self.celery, self.jobs, self.max_size = celery, jobs, max_size
        self.queue: Queue = celery.conf.task_queues[0]
        self.retry_after = 5
        self._lock = threading.Lock()
        self._workers: tuple[float, list[str]] = (float("-inf"), [])
        self._wait_lock = threading.Lock()
        self._waiting: dict[str, list[threading.Event]] = {}
        self._poller: threading.Thread | None = None

    def start(self, runner: Runner) -> None:
        """Nothing runs here: the GPU workers consume the queue."""

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to stop: queued jobs stay in the broker for the workers."""

    def put(self, item: WorkItem) -> None:
        """Send the job's payload; QueueFull when ``max_size`` jobs already wait."""
        if self.depth() >= self.max_size:
            raise QueueFull(self.retry_after)
        self.celery.send_task(
            TASK, args=[item.payload().to_json()], task_id=item.job_id, queue=self.queue.name
        )

    def cancel(self, job_id: str) -> str:
        """The caller ends the job in the database; workers drop or stop it from there."""
        return "dequeued"

    def wait(self, job_id: str, timeout: float) -> bool:
        """Block until the job's row has a final state (True) or ``timeout`` passed."""
        done = threading.Event()
        with self._wait_lock:
            self._waiting.setdefault(job_id, []).append(done)
            if self._poller is None:
                self._poller = threading.Thread(target=self._poll, name="job-waiter", daemon=True)
                self._poller.start()
        try:
            return done.wait(timeout)
        finally:
            with self._wait_lock:
                events = self._waiting.get(job_id, [])
                events.remove(done)
                if not events:
                    self._waiting.pop(job_id, None)

    def _poll(self) -> None:
        """One query per tick for all the jobs this process's threads wait on."""
        while True:
            with self._wait_lock:
                ids = list(self._waiting)
                if not ids:
                    self._poller = None
                    return
            try:
                open_ids = self.jobs.unfinished(ids)
            except Exception:  # a database hiccup: try again next tick
                log.warning("could not poll job states", exc_info=True)
                open_ids = set(ids)
            with self._wait_lock:
                for job_id in ids:
                    if job_id not in open_ids:
                        for event in self._waiting.get(job_id, []):
                            event.set()
            time.sleep(WAIT_POLL_S)

    def depth(self) -> int:
        """Messages waiting in the broker's generation queue (all web processes share it)."""
        with self.celery.pool.acquire(block=True) as conn:
            # Declaring (idempotent, same arguments as the workers') answers the count and
            # works on Redis too, where a passive declare of an empty queue says "not found".
            return self.queue(conn.default_channel).queue_declare().message_count

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """The broker must answer; workers are reported (jobs queue until one consumes)."""
        broker = broker_name(self.celery.conf.broker_url)
        try:
            self.depth()
            workers = self.consumers()
        except Exception as exc:  # any broker or network error: not ready, and say why
            return False, {f"broker.{broker}": f"error: {type(exc).__name__}: {exc}"}
        state = f"{len(workers)} consuming" if workers else "none consuming"
        return True, {f"broker.{broker}": "ready", "workers": state}

    def consumers(self) -> list[str]:
        """Names of the workers consuming this queue (asked at most every few seconds)."""
        with self._lock:
            asked_at, names = self._workers
            if time.monotonic() - asked_at < WORKERS_CACHE_S:
                return names
            replies = self.celery.control.inspect(timeout=0.5).active_queues() or {}
            names = sorted(
                node
                for node, queues in replies.items()
                if any(q.get("name") == self.queue.name for q in queues)
            )
            self._workers = (time.monotonic(), names)
            return names
