"""Scores, intervals, paired tests and disagreements on hand-made arrays."""
import numpy as np
import pandas as pd
import pytest

from clusterage_utils.metrics import (
    bootstrap_ci,
    disagreements,
    null_scatter_dex,
    paired_difference,
    predictive_power_pct,
    recovery_by_age_bin,
    scatter_dex,
    score_set,
    seed_ci,
    summarise_seeds,
)


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


def test_paired_difference_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(0)
    ref = rng.uniform(6, 10, 800)
    good = ref + rng.normal(0, 0.3, 800)
    bad = ref + rng.normal(0, 0.6, 800)
    res = paired_difference(bad, good, ref)
    assert res["diff_dex"] > 0 and res["ci_lo"] > 0 and res["p_value"] < 0.01
    same = paired_difference(good, good + rng.normal(0, 1e-4, 800), ref)
    assert same["ci_lo"] < 0 < same["ci_hi"] and same["p_value"] > 0.05
    with pytest.raises(ValueError, match="same clusters"):
        paired_difference(good[:5], good, ref)

def test_disagreements_flag_outliers_and_say_who_is_right():
    rng = np.random.default_rng(3)
    n = 500
    true = rng.uniform(6, 10, n)
    label = true + rng.normal(0, 0.1, n)
    pred = true + rng.normal(0, 0.1, n)
    label[:5] = 10.0                       # five degenerate reference ages; the CNN got them right
    df = pd.DataFrame({"set": "test", "label": label, "pred": pred, "true_log_age": true})
    out = disagreements(df)
    assert set(range(5)) <= set(out.index)
    assert (out.loc[range(5), "closer_to_truth"] == "cnn").all()
    assert len(out) < 15

def test_paired_difference_pools_seeds():
    rng = np.random.default_rng(1)
    ref = rng.uniform(6, 10, 400)
    good = ref + rng.normal(0, 0.3, (3, 400))                 # three seeds on the same clusters
    bad = ref + rng.normal(0, 0.5, (2, 400))
    res = paired_difference(bad, good, ref)
    assert res["n_seeds"] == (2, 3) and res["ci_lo"] > 0
    null = np.full((1, 400), ref.mean())
    assert paired_difference(good, null, ref)["ci_hi"] < 0   # better than the null predictor

def test_summary_interval_combines_seeds_and_bootstrap():

    base = {"case": "c", "input": "five_band", "sample": "full", "mask": "none", "diameter": 0,
            "labels": "reference", "group": None, "masking": "retrain", "null_scatter_dex": 1.0, "n_train": 10,
            "n_test": 5, "train_scatter_dex": 0.1, "val_scatter_dex": 0.2}
    one = pd.DataFrame([{**base, "test_scatter_dex": 0.5, "test_scatter_ci_lo": 0.4, "test_scatter_ci_hi": 0.6}])
    s1 = summarise_seeds(one).iloc[0]
    assert s1["test_ci_lo"] == pytest.approx(0.4) and s1["test_ci_hi"] == pytest.approx(0.6)
    two = pd.DataFrame([{**base, "test_scatter_dex": v, "test_scatter_ci_lo": v - 0.1, "test_scatter_ci_hi": v + 0.1}
                        for v in (0.4, 0.6)])
    s2 = summarise_seeds(two).iloc[0]
    # wider than either source alone: seeds give +-0.1, bootstrap +-0.1
    assert s2["test_ci_hi"] - s2["test_scatter_mean"] > 0.1 and s2["test_scatter_mean"] - s2["test_ci_lo"] > 0.1
    from scipy import stats

    half = stats.t.ppf(0.84, 1) * np.std([0.4, 0.6], ddof=1) / np.sqrt(2)   # Student-t, honest for 2 seeds
    assert s2["test_seed_ci_lo"] == pytest.approx(0.5 - half) and s2["test_seed_ci_hi"] == pytest.approx(0.5 + half)
    assert s2["test_seed_ci_lo"] < 0.4                                  # wider than the two values themselves

def test_recovery_by_age_bin_sees_degenerate_reference_ages():

    rng = np.random.default_rng(2)
    true = rng.uniform(6, 10, 2000)
    label = true + rng.normal(0, 0.1, len(true))
    young = true < 7
    label[young] = rng.uniform(8.5, 9.5, young.sum())        # young clusters fitted as old
    pred = true + rng.normal(0, 0.2, len(true))
    t = recovery_by_age_bin(pd.DataFrame({"set": "test", "label": label, "pred": pred, "true_log_age": true}))
    first = t.iloc[0]
    assert first["true_log_age_bin"] == "6-7" and first["reference_scatter_dex"] > 1 > first["cnn_scatter_dex"]
    assert first["reference_bias_dex"] > 1
    with pytest.raises(ValueError, match="true ages"):
        recovery_by_age_bin(pd.DataFrame({"set": ["test"], "label": [7.0], "pred": [7.0]}))


def test_compare_masking_methods_finds_the_worst_diameter_and_its_sign():
    import pandas as pd

    from clusterage_utils.metrics import compare_masking_methods

    rows = []
    for masking, values in (("retrain", [0.40, 0.60]), ("amortised", [0.58, 0.61])):
        for (mask, d), v in zip((("none", 0), ("mask_centre", 12)), values):
            rows.append({"input": "five_band", "sample": "full", "mask": mask, "diameter": d, "masking": masking,
                         "labels": "reference", "test_scatter_mean": v, "test_scatter_std": 0.02})
    cmp = compare_masking_methods(pd.DataFrame(rows))
    r = cmp.iloc[0]
    assert r["n_diameters"] == 2 and r["worst_diameter"] == 0
    assert r["worst_diff_dex"] == pytest.approx(0.18) and r["max_abs_diff_dex"] == pytest.approx(0.18)
    assert r["mean_abs_diff_dex"] == pytest.approx(0.095) and not r["agrees"]
