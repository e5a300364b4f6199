"""Shipped tables and the one conversion from angles to parsec."""
import numpy as np
import pytest

from clusterage_utils.survey.reference import galaxies, pc_per_px, pixel_scale_arcsec, study_scatter


def test_pc_per_px_from_distance_and_scale():
    assert pc_per_px(10.0, 0.04) == pytest.approx(10e6 * 0.04 / 206264.806, rel=1e-6)
    np.testing.assert_allclose(pc_per_px([9.84, 19.57]), galaxies().loc[["NGC_628C", "NGC_1365"], "pc_per_px"])


def test_pixel_scale_comes_from_the_wcs():
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    s = 0.03962 / 3600
    w.wcs.cd = [[-s, 0], [0, s]]
    assert pixel_scale_arcsec(w) == pytest.approx(0.03962, rel=1e-6)
    w.wcs.cd = [[-s, 0], [0, 1.1 * s]]
    with pytest.raises(ValueError, match="non-square"):
        pixel_scale_arcsec(w)


def test_tables_have_their_documented_shape():
    g = galaxies()
    assert len(g) == 15 and set(g["distance_group"]) == {"near", "far", "other"}
    assert len(study_scatter()) == 16
