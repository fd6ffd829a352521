"""The statistics of the experiment page: percentiles, Wilson intervals, a two-proportion test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval
ALPHA = 0.05


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` 0.95 for p95); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Comparison:
    """A two-proportion z-test of an arm against the control."""

    difference: float  # arm rate minus control rate
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at the 5% level (two-sided)."""
        return self.p_value < ALPHA


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> Comparison | None:
    """Pooled two-proportion z-test of x1/n1 against x2/n2; None when it cannot be computed.

    None without trials on either side, or when the pooled rate is 0 or 1 (no variance: the
    two rates are then equal).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    difference = x1 / n1 - x2 / n2
    z = difference / math.sqrt(variance)
    return Comparison(difference, z, math.erfc(abs(z) / math.sqrt(2)))
