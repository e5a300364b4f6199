"""Attribution, significance and disagreement tools."""
import numpy as np
import pandas as pd
import pytest

from clusterage_utils.attribution import integrated_gradients, occlusion_map, radial_profile
from clusterage_utils.metrics import disagreements, paired_difference


@pytest.fixture(scope="module")
def small_model():
    from clusterage_utils.model import build_cnn
    from clusterage_utils.training import _configure_tf

    _configure_tf(0)
    return build_cnn((24, 24, 2), width=1 / 16, learning_rate=1e-3, seed=0)


def test_integrated_gradients_completeness(small_model):
    rng = np.random.default_rng(0)
    x = rng.random((3, 24, 24, 2)).astype(np.float32)
    attr = integrated_gradients(small_model, x, steps=128)
    fx = small_model.predict(x, verbose=0).ravel()
    f0 = small_model.predict(np.zeros_like(x), verbose=0).ravel()
    gap = fx - f0
    np.testing.assert_allclose(attr.reshape(3, -1).sum(1), gap, atol=0.02 * np.abs(gap).max() + 1e-4)


def test_occlusion_and_radial_profile(small_model):
    x = np.random.default_rng(1).random((2, 24, 24, 2)).astype(np.float32)
    occ = occlusion_map(small_model, x, patch_px=6, stride_px=6)
    assert occ.shape == (2, 24, 24) and np.isfinite(occ).all()
    yy, xx = np.mgrid[0:24, 0:24]
    ring = (np.hypot(xx - 11.5, yy - 11.5) < 4).astype(float)[None]
    r, prof = radial_profile(ring, bin_px=2)
    assert prof[0, 0] == 1.0 and prof[0, -1] == 0.0 and len(r) == prof.shape[1]


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
    from clusterage_utils.metrics import summarise_seeds

    base = {"case": "c", "input": "five_band", "sample": "full", "mask": "none", "diameter_px": 0,
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
    assert s2["test_seed_ci_lo"] >= 0.4 and s2["test_seed_ci_hi"] <= 0.6


def test_recovery_by_age_bin_sees_degenerate_reference_ages():
    from clusterage_utils.metrics import recovery_by_age_bin

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


def test_attribution_profiles_and_cumulative_share():
    from clusterage_utils.attribution import cumulative_fraction, profiles_by_age

    yy, xx = np.mgrid[0:24, 0:24]
    r = np.hypot(xx - 11.5, yy - 11.5)
    centre = (r < 4).astype(float)                           # all attribution inside radius 4
    ring = ((r > 8) & (r < 10)).astype(float)                # all attribution at radius 8-10
    maps = np.stack([centre, ring])
    edges, frac = cumulative_fraction(maps, bin_px=2)
    assert frac[0, list(edges).index(4.0)] == pytest.approx(1.0)
    assert frac[1, list(edges).index(8.0)] == pytest.approx(0.0) and frac[1, -1] == pytest.approx(1.0)
    prof = profiles_by_age(maps, [6.5, 9.6])
    assert set(prof["age_bin"]) == {"6-7", "9-10.5"}
    assert (prof.groupby("age_bin")["profile_mean"].sum() - 1).abs().max() < 1e-9


def test_truth_verdict_and_leakage_table():
    from clusterage_utils.analyses import leakage_table, truth_verdict

    tests = pd.DataFrame({"coupling": [0.0, 0.0, 1.0, 1.0],
                          "case": ["wl_mask_12", "wl_mask_24_shuffled", "wl_mask_12", "wl_mask_24_shuffled"],
                          "below_null": [False, False, True, False]})
    assert truth_verdict(tests) == {"coupling0_consistent_with_null": True, "coupling1_below_null": True,
                                    "shuffled_never_below_null": True}
    tests.loc[0, "below_null"] = True                      # a signal where none was planted: the test fails
    assert not truth_verdict(tests)["coupling0_consistent_with_null"]
    s = pd.DataFrame({"case": ["five_band_full_none"] * 3 + ["white_light_full_mask_centre_24"] * 3,
                      "split": ["random", "spatial", "galaxy"] * 2,
                      "predictive_power_pct": [80.0, 76.0, 60.0, 40.0, 20.0, 10.0]})
    t = leakage_table(s)
    assert t.loc["white_light_full_mask_centre_24", "spatial/random"] == pytest.approx(0.5)
    assert t.loc["five_band_full_none", "galaxy/random"] == pytest.approx(0.75)
