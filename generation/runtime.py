"""Per-thread torch intra-op threads for processes that run torch on several threads."""

from __future__ import annotations

import sys
import threading

_local = threading.local()


def use_torch_threads(count: int, import_torch: bool = False) -> None:
    """Set the calling thread's intra-op thread count (OpenMP keeps it per thread).

    A server runs torch on many threads (request threads embed prompts, one worker generates).
    When the process holds more OpenMP threads than there are cores, libgomp stops spin-waiting
    and the many tiny ops of a small UNet run about twice as slow (measured in docs/performance.md),
    so only the generation worker should use several. Unless ``import_torch``, does nothing
    before torch is imported (a web process with no model loaded never imports it).
    """
    if getattr(_local, "count", None) == count:
        return
    if "torch" not in sys.modules and not import_torch:
        return
    import torch

    torch.set_num_threads(max(1, count))
    _local.count = count
