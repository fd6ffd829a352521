"""After a crash or restart: no job may stay 'queued' or 'running' forever."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

import psutil
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from webapp.db import session_scope
from webapp.models import Job, utcnow

log = logging.getLogger(__name__)
INTERRUPTED = "The server stopped before this job finished; please submit it again."


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start time`` of a process: a reused pid gets a different identity."""
    pid = os.getpid() if pid is None else pid
    started = int(psutil.Process(pid).create_time())
    return f"{socket.gethostname()}:{pid}:{started}"


def is_orphaned(worker: str | None, me: str) -> bool:
    """Whether the process that held a job on this host is gone.

    Jobs held by another host are left alone (their own restart recovers them); the
    job timeout still fails them if that host never comes back.
    """
    if not worker:
        return True
    if worker == me:
        return False
    host, _, rest = worker.partition(":")
    if host != socket.gethostname():
        return False
    pid_text, _, _started = rest.partition(":")
    try:
        pid = int(pid_text)
        # A killed process stays a zombie until reaped; it holds its pid but runs nothing.
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        return process_identity(pid) != worker
    except (ValueError, psutil.Error):
        return True


def fail_stuck_jobs(factory: sessionmaker, me: str, timeout_s: int) -> int:
    """Mark failed every unfinished job whose process died or that outlived its timeout."""
    cutoff = utcnow() - timedelta(seconds=timeout_s * 2)
    count = 0
    with session_scope(factory) as session:
        rows = session.scalars(select(Job).where(Job.status.in_(("queued", "running")))).all()
        for job in rows:
            if is_orphaned(job.worker, me):
                code, message = "interrupted", INTERRUPTED
            elif job.created_at < cutoff:
                code, message = "timeout", "The job did not finish in time."
            else:
                continue
            job.status, job.error_code, job.error_message = "failed", code, message
            job.finished_at = utcnow()
            count += 1
    if count:
        log.warning("marked %d unfinished job(s) failed after a restart or timeout", count)
    return count
