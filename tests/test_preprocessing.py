"""Masks, normalisation, rotations, samples and splits."""
import numpy as np
import pandas as pd
import pytest

from clusterage_utils.engine.preprocessing import (
    apply_mask,
    circle,
    make_split,
    normalise,
    preprocess,
    random_split,
    select_sample,
    visible_pixels,
    white_light,
)


@pytest.mark.parametrize("d", [2, 6, 8, 12, 24, 40, 78])
def test_mask_pixel_counts_match_circle_area(d):
    n = circle(112, d).sum()
    # within one pixel ring of the circle's area
    assert abs(n - np.pi * d**2 / 4) <= np.pi * d + 4, (d, n)


@pytest.mark.parametrize("d", [0, 3, 8, 12, 24, 78])
def test_geometric_masks_are_rotation_invariant(d):
    m = circle(112, d)
    for k in (1, 2, 3):
        np.testing.assert_array_equal(np.rot90(m, k), m)


def test_authors_convention_differs_and_is_documented():
    a = circle(112, 8, "authors")
    assert a[56, 56] and a[56, 60] and not a[56, 51]   # centred on pixel 56, radius 4 inclusive
    assert not np.array_equal(np.rot90(a), a)
    assert circle(112, 0, "authors").sum() == 1          # R = 0 still masks the centre pixel
    assert circle(112, 0).sum() == 0


def test_bad_diameter():
    with pytest.raises(ValueError, match=r"mask diameter must be in \[0, 112\]"):
        circle(112, 113)
    with pytest.raises(ValueError, match="mask diameter"):
        circle(112, -2)


def test_keep_and_mask_are_complements():
    k = visible_pixels("keep_centre", 24, 112)
    m = visible_pixels("mask_centre", 24, 112)
    assert not (k & m).any() and (k | m).all()


def test_normalisation_range_masked_zero_and_no_nan():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, (4, 5, 32, 32)).astype(np.float32)
    vis = visible_pixels("mask_centre", 12, 32)
    out = normalise(apply_mask(x, vis), vis, "instance")
    assert out[:, :, vis].min() == 0.0 and out[:, :, vis].max() == 1.0
    assert np.all(out[:, :, ~vis] == 0.0)
    for i in range(4):  # min and max taken over visible pixels only, across all channels
        v = x[i][:, vis]
        np.testing.assert_allclose(out[i][:, vis], (v - v.min()) / (v.max() - v.min()), rtol=1e-5, atol=1e-6)
    const = np.full((2, 5, 32, 32), 3.0, np.float32)
    for method in ("instance", "authors", "channel"):
        for visible in (np.ones((32, 32), bool), np.zeros((32, 32), bool)):   # constant, or fully masked
            o = normalise(apply_mask(const, visible), visible, method)
            assert np.isfinite(o).all() and np.all(o == 0.0), method
    for method in ("instance", "channel"):   # constant where visible: no contrast -> 0, not NaN
        o = normalise(apply_mask(const, vis), vis, method)
        assert np.all(o == 0.0)
    o = normalise(apply_mask(const, vis), vis, "authors")   # masked zeros set the minimum
    assert np.all(o[:, :, vis] == 1.0) and np.all(o[:, :, ~vis] == 0.0)


def test_authors_normalisation_includes_masked_zeros():
    x = np.full((1, 5, 16, 16), 10.0, np.float32)
    x[0, 0, 0, 0] = 20.0
    vis = visible_pixels("mask_centre", 6, 16)
    paper = normalise(apply_mask(x, vis), vis, "instance")
    authors = normalise(apply_mask(x, vis), vis, "authors")
    assert paper[0, 1, 0, 0] == 0.0                     # 10 is the visible minimum
    assert authors[0, 1, 0, 0] == pytest.approx(0.5)    # the masked zeros set the minimum


def _study_script_preprocessing(cutouts, kind, radius, white):
    """The study's preprocessing as its published description states it, written independently of the package:
    mean of the bands (white light) first; a circle about pixel (56, 56) of radius R with (x-56)^2 + (y-56)^2 <=
    R^2 set to 0 (inner) or everything outside it (outer); then one min and one max over the whole cutout, masked
    zeros included, and every pixel scaled with them."""
    x = cutouts.astype(np.float64)
    if white:
        x = x.mean(axis=1, keepdims=True)
    n = x.shape[-1]
    c = n // 2
    out = np.empty_like(x)
    for i in range(len(x)):
        img = x[i].copy()
        for yy in range(n):
            for xx in range(n):
                inside = (xx - c) ** 2 + (yy - c) ** 2 <= radius ** 2
                if (kind == "mask_centre" and inside) or (kind == "keep_centre" and not inside):
                    img[:, yy, xx] = 0.0
        lo, hi = img.min(), img.max()
        out[i] = (img - lo) / (hi - lo)
    return out.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("kind", ["mask_centre", "keep_centre"])
@pytest.mark.parametrize("radius", [3, 6, 12])
@pytest.mark.parametrize("white", [False, True])
def test_authors_mode_matches_the_study_scripts_bit_for_bit(kind, radius, white):
    """The ``authors`` mask convention and normalisation reproduce the study's arrays, masked pixels included
    (their grey level -min/(max - min) differs per cutout)."""
    rng = np.random.default_rng(radius)
    x = rng.normal(0.5, 1.0, (3, 5, 40, 40)).astype(np.float32)   # sky-subtracted noise: pixels < 0 too
    vis = visible_pixels(kind, 2 * radius, 40, convention="authors")
    got = preprocess(x, "white_light" if white else "five_band", vis, "authors")
    want = _study_script_preprocessing(x, kind, radius, white)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)
    masked = ~vis
    grey = got[:, masked, 0]
    assert np.ptp(grey[:, 0]) > 0 and np.allclose(grey, grey[:, :1])   # one grey level per cutout, not 0


def test_white_light_before_normalisation_and_channels_last():
    x = np.random.default_rng(1).random((3, 5, 20, 20)).astype(np.float32)
    np.testing.assert_allclose(white_light(x)[:, 0], x.mean(1), rtol=1e-6)
    out = preprocess(x, "white_light", visible_pixels("none", 0, 20))
    assert out.shape == (3, 20, 20, 1)


def test_authors_split_sizes_and_order():
    tr, va, te = random_split(8651)
    assert (len(tr), len(va), len(te)) == (6055, 1298, 1298)
    assert len(set(tr) | set(va) | set(te)) == 8651
    import random
    order = list(range(8651))
    random.seed(42)
    random.shuffle(order)
    assert list(tr[:5]) == order[:5]
    assert [len(s) for s in random_split(4362)] == [3053, 654, 655]
    with pytest.raises(ValueError, match="split must be one of"):
        make_split("by_moon_phase", 10)


def test_kfold_split_tests_every_position_once():
    from clusterage_utils.engine.preprocessing import kfold_split

    n = 503
    parts = [kfold_split(n, 5, k, seed=42) for k in range(5)]
    tests = np.concatenate([te for _, _, te in parts])
    assert sorted(tests.tolist()) == list(range(n))                        # each position tested exactly once
    for tr, va, te in parts:
        assert len(set(tr) | set(va) | set(te)) == n == len(tr) + len(va) + len(te)   # a partition per fold
        assert len(va) == int(0.15 * n) and len(te) in (100, 101)
    shuffled = np.concatenate(random_split(n))                            # the study's shuffle of the positions
    assert parts[0][2].tolist() == shuffled[:100].tolist() and parts[4][2].tolist() == shuffled[402:].tolist()
    with pytest.raises(ValueError, match="folds >= 2"):
        kfold_split(n, 1, 0)
    with pytest.raises(ValueError, match="0 <= fold < folds"):
        kfold_split(n, 5, 5)
    with pytest.raises(ValueError, match="nothing to train on"):
        kfold_split(n, 2, 0, val_fraction=0.6)


def test_samples():
    a = np.array([6.0, 6.9, 7.0, 8.0, 9.5, 9.6, 10.14])
    assert list(select_sample(a, "full")) == list(range(7))
    assert list(select_sample(a, "restricted")) == [2, 3, 4]


def _catalogue(n=600, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"galaxy_id": rng.choice(["A", "B", "C", "D", "E", "F"], n),
                         "x_px": rng.uniform(0, 2000, n), "y_px": rng.uniform(0, 2000, n)})


def test_galaxy_split_holds_out_whole_galaxies():
    cat = _catalogue()
    tr, va, te = make_split("galaxy", len(cat), seed=1, catalogue=cat)
    sets = [set(cat["galaxy_id"].iloc[s]) for s in (tr, va, te)]
    assert all(sets) and not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(tr) + len(va) + len(te) == len(cat)
    with pytest.raises(ValueError, match="at least 3 galaxies"):
        make_split("galaxy", 10, catalogue=_catalogue(10).assign(galaxy_id="A"))


def test_spatial_split_has_no_overlap_with_test():
    cat = _catalogue(1500)
    tr, va, te = make_split("spatial", len(cat), seed=3, catalogue=cat, size_px=112)
    assert not (set(tr) & set(te)) and not (set(va) & set(te)) and not (set(tr) & set(va))
    for held in (tr, va):
        a, b = cat.iloc[held], cat.iloc[te]
        same = a["galaxy_id"].to_numpy()[:, None] == b["galaxy_id"].to_numpy()[None, :]
        dx = np.abs(a["x_px"].to_numpy()[:, None] - b["x_px"].to_numpy()[None, :])
        dy = np.abs(a["y_px"].to_numpy()[:, None] - b["y_px"].to_numpy()[None, :])
        assert not (same & (dx < 112) & (dy < 112)).any()
    assert 0.08 < len(te) / len(cat) < 0.25 and len(tr) > 0.5 * len(cat)
    with pytest.raises(ValueError, match="pixel positions"):
        make_split("spatial", 10, catalogue=cat.drop(columns=["x_px"]).iloc[:10])


@pytest.mark.parametrize("method", ["asinh", "log", "quantile"])
def test_nonlinear_normalisations(method):
    rng = np.random.default_rng(2)
    x = rng.lognormal(0, 1.5, (3, 5, 32, 32)).astype(np.float32)      # heavy-tailed, like cluster light
    vis = visible_pixels("mask_centre", 8, 32)
    out = normalise(apply_mask(x, vis), vis, method)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert np.all(out[:, :, ~vis] == 0) and np.allclose(out[:, :, vis].max(axis=1).max(axis=1), 1.0)
    lin = normalise(apply_mask(x, vis), vis, "instance")
    assert np.median(out[:, :, vis]) > np.median(lin[:, :, vis])   # faint pixels lifted (compressed dynamic range)
    # order-preserving within a cutout
    a, b = lin[0][:, vis].ravel(), out[0][:, vis].ravel()
    assert np.all(np.diff(b[np.argsort(a, kind="stable")]) >= -1e-6)
    for visible in (np.ones((32, 32), bool), np.zeros((32, 32), bool)):
        const = normalise(np.full((2, 5, 32, 32), 4.0, np.float32), visible, method)
        assert np.isfinite(const).all() and np.all(const == 0)


def test_overlap_fraction_of_splits():
    from clusterage_utils.engine.preprocessing import overlap_fraction, random_split, spatial_split

    rng = np.random.default_rng(0)
    n = 600
    cat = pd.DataFrame({"galaxy_id": rng.choice(["A", "B"], n), "x_px": rng.uniform(0, 3000, n),
                        "y_px": rng.uniform(0, 3000, n)})
    tr, va, te = random_split(n)
    assert overlap_fraction(cat, te, np.concatenate([tr, va])) > 0.3       # crowded: a random split overlaps
    tr, va, te = spatial_split(n, catalogue=cat, size_px=112)
    assert overlap_fraction(cat, te, np.concatenate([tr, va])) == 0.0
    far = pd.DataFrame({"galaxy_id": ["A", "B"], "x_px": [0.0, 0.0], "y_px": [0.0, 0.0]})
    assert overlap_fraction(far, [0], [1]) == 0.0                          # other galaxy: never overlaps


@pytest.mark.parametrize("kind, d", [("mask_centre", 12), ("keep_centre", 8), ("none", 0), ("keep_centre", 0)])
def test_one_mask_fast_path_equals_the_general_path(kind, d):
    rng = np.random.default_rng(d)
    x = rng.normal(0.3, 1.0, (6, 5, 32, 32)).astype(np.float32)
    x[2] = 1.5                                                     # a flat cutout: no contrast -> 0
    vis = visible_pixels(kind, d, 32)
    fast = normalise(apply_mask(x, vis), vis, "instance")
    general = normalise(apply_mask(x, vis), np.stack([vis] * 6), "instance")   # per-item masks: general path
    np.testing.assert_array_equal(fast, general)
    assert fast.dtype == np.float32
