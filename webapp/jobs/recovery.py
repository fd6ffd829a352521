"""Which process holds a job, and whether it is gone (``JobStore.recover`` acts on it)."""

from __future__ import annotations

import os
import socket

import psutil

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
