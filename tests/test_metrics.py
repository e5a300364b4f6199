"""Scores on hand-made arrays."""
import numpy as np
import pytest

from clusterage_utils.metrics import (bootstrap_ci, null_scatter_dex, predictive_power_pct, scatter_dex,
                                      score_set, seed_ci)


def test_scatter_is_1p49_median_absolute_deviation():
    assert scatter_dex([1, 2, 3, 4], [1, 1, 1, 1]) == pytest.approx(1.49 * 1.5)
    assert scatter_dex([7.0, 8.0], [7.0, 8.0]) == 0.0


def test_null_predictor_uses_training_mean():
    train = np.array([6.0, 8.0])          # mean 7
    test = np.array([6.0, 7.0, 9.0])      # |d| = 1, 0, 2 -> median 1
    assert null_scatter_dex(train, test) == pytest.approx(1.49)


def test_predictive_power():
    assert predictive_power_pct(0.0, 1.0) == 100.0
    assert predictive_power_pct(1.0, 1.0) == 0.0
    assert predictive_power_pct(0.454, 1.22) == pytest.approx(86.2, abs=0.1)   # the study's 5-band full case


def test_subsets_and_ci():
    rng = np.random.default_rng(0)
    ref = rng.uniform(6, 10, 500)
    pred = ref + rng.normal(0, 0.3, 500)
    s = score_set(pred, ref, ref)
    assert s["scatter_ci_lo"] < s["scatter_dex"] < s["scatter_ci_hi"]
    assert s["scatter_dex"] == pytest.approx(0.3 * 1.49 * 0.6745, rel=0.15)
    assert s["n_extreme"] == int(((ref < 7) | (ref > 9.5)).sum())
    lo, hi = seed_ci([0.4, 0.5, 0.45])
    assert 0.4 <= lo < hi <= 0.5
    assert all(np.isnan(v) for v in bootstrap_ci([], []))   # empty test set: NaN, not an error
