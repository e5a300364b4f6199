"""Attribution: integrated gradients, occlusion, radial profiles."""
import numpy as np
import pytest

from clusterage_utils.analysis.attribution import integrated_gradients, occlusion_map, radial_profile

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def small_model():
    from clusterage_utils.engine.model import build_cnn
    from clusterage_utils.engine.runtime import seed_everything

    seed_everything(0)
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

def test_attribution_profiles_and_cumulative_share():
    from clusterage_utils.analysis.attribution import cumulative_fraction, profiles_by_age

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
