"""OpenMP settings for processes that run torch: thread counts per Python thread, idle policy.

They live beside the text encoder because it is the torch model every SafeCanvas process runs
(the server, ``python -m safety``, ``python -m generation``, the benchmarks).
"""

from __future__ import annotations

import os
import sys
import threading

_local = threading.local()


def sleep_idle_openmp_threads() -> None:
    """Make idle OpenMP threads sleep rather than spin (OMP_WAIT_POLICY=PASSIVE).

    Call before torch is imported (libgomp reads the variable once); an operator's own setting
    wins. Spinning threads take cores from whoever else needs them: other OpenMP teams in the
    same process (a server runs one per Python thread that uses torch) or other processes;
    measurements in docs/performance.md.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def use_torch_threads(count: int, import_torch: bool = False) -> None:
    """Set the calling thread's intra-op thread count (OpenMP keeps it per thread).

    A server runs torch on many threads (request threads embed prompts, one worker generates),
    each with its own OpenMP team; only the generation worker should use several threads, or
    the teams outnumber the cores (the web app also makes idle OpenMP threads sleep rather
    than spin: OMP_WAIT_POLICY, see webapp/__init__.py and docs/performance.md). Unless
    ``import_torch``, does nothing before torch is imported (a web process with no model loaded
    never imports it).
    """
    if getattr(_local, "count", None) == count:
        return
    if "torch" not in sys.modules and not import_torch:
        return
    import torch

    torch.set_num_threads(max(1, count))
    _local.count = count
