"""Per-thread torch intra-op threads for processes that run torch on several threads."""

from __future__ import annotations

import sys
import threading

_local = threading.local()


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
