"""Which arm of an experiment a requester gets: a stable hash, the same in every process."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def bucket(experiment_id: int, requester: str) -> float:
    """A number in [0, 1) fixed by the experiment and the requester.

    sha256, not ``hash()``: Python salts string hashes per process, and the assignment must
    agree across gunicorn workers, hosts and restarts.
    """
    digest = hashlib.sha256(f"{experiment_id}:{requester}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(arms: Sequence[tuple[str, int]], point: float) -> str | None:
    """The arm whose slice of the weights holds ``point``; None when every weight is 0.

    Arms keep their order, so a requester keeps their arm while the weights stay the same.
    """
    total = sum(weight for _, weight in arms)
    if total <= 0:
        return None
    edge = 0.0
    for version, weight in arms:
        edge += weight / total
        if point < edge:
            return version
    return next(version for version, weight in reversed(arms) if weight > 0)  # rounding
