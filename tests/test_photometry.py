"""Aperture photometry: the local sky is a sigma-clipped median, so a bright neighbour in the annulus does not
bias it."""
import numpy as np
from photutils.aperture import CircularAnnulus

from clusterage_utils.survey.photometry import ANNULUS_PX, aperture_photometry


def test_sigma_clipped_sky_ignores_a_neighbour_in_the_annulus():
    rng = np.random.default_rng(0)
    img = rng.normal(1.0, 0.05, (5, 80, 80))
    yy, xx = np.mgrid[0:80, 0:80]
    img += 50 * np.exp(-((xx - 40) ** 2 + (yy - 40) ** 2) / 2.0)            # the source
    neighbour = (xx >= 46) & (xx <= 49) & (np.abs(yy - 40) <= 2)            # outside the aperture, in the annulus
    annulus = CircularAnnulus((40, 40), *ANNULUS_PX).to_mask(method="center").to_image((80, 80)) > 0
    assert 0.05 < (neighbour & annulus).sum() / annulus.sum() < 0.12       # a minority of the sky pixels
    clean, _ = aperture_photometry(img, [40.0], [40.0], sky_sigma_clip=None)
    img += 20 * neighbour
    clipped, _ = aperture_photometry(img, [40.0], [40.0])
    plain, _ = aperture_photometry(img, [40.0], [40.0], sky_sigma_clip=None)
    assert np.abs(clipped - clean).mean() < 0.5 * np.abs(plain - clean).mean()
