"""The experiment page's statistics against values worked out by hand."""

from __future__ import annotations

import pytest

from webapp.experiments.stats import percentile, two_proportion_test, wilson


def test_nearest_rank_percentiles():
    values = list(range(1, 21))
    assert percentile(values, 0.5) == 10
    assert percentile(values, 0.95) == 19
    assert percentile([], 0.95) is None


def test_wilson_interval():
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0
    assert wilson(0, 0) is None


def test_two_proportion_z_test():
    result = two_proportion_test(60, 100, 45, 100)
    assert result.z == pytest.approx(2.1240, abs=1e-3)  # 0.15 / sqrt(.525 * .475 * .02)
    assert result.p_value == pytest.approx(0.0337, abs=1e-3)
    assert result.significant
    assert not two_proportion_test(50, 100, 45, 100).significant
    assert two_proportion_test(0, 10, 0, 10) is None  # no variance
    assert two_proportion_test(1, 0, 1, 10) is None
