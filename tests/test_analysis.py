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
