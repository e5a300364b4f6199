"""Previews of survey products (real or mock): read a galaxy's band mosaics and catalogue, and draw them.

File reading lives here, drawing in :mod:`clusterage_utils.analysis.plotting.images`.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..constants import BANDS
from .plotting.images import cutout_gallery, mosaic_with_clusters

__all__ = ["survey_mosaic", "mock_preview"]


def survey_mosaic(folder: str | os.PathLike, galaxy_id: str, mock: bool = True):
    """Colour composite of one galaxy's product mosaics with its catalogued clusters coloured by age
    (true age for the mock survey, reference age otherwise). Returns (figure, images, x, y, catalogue)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    from ..survey.products import find_band_images, read_cluster_catalogue

    paths = find_band_images(folder, galaxy_id)
    images = np.stack([fits.getdata(paths[b]).astype(float) for b in BANDS])
    cat, _ = read_cluster_catalogue(folder, galaxy_id)
    wcs = WCS(fits.getheader(paths["F555W"])).celestial
    x, y = wcs.world_to_pixel_values(cat["ra_deg"], cat["dec_deg"])
    truth = "MOCK_TRUE_LOG_AGE" in cat
    fig = mosaic_with_clusters(images, x, y, cat["MOCK_TRUE_LOG_AGE"] if truth else cat["log_age"],
                               title=f"{galaxy_id}: clusters coloured by {'true' if truth else 'reference'} age",
                               mock=mock)
    return fig, images, x, y, cat


def mock_preview(survey_dir: str | os.PathLike, out_dir: str | os.PathLike, galaxy: str | None = None,
                 n_gallery: int = 10) -> list[Path]:
    """Save the mock survey's preview PNGs: a mosaic composite with clusters, and a cutout gallery by age.

    Returns the paths written.
    """
    from astropy.nddata import Cutout2D

    from ..survey.products import galaxy_id_for

    survey_dir, out_dir = Path(survey_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folders = sorted(p for p in survey_dir.iterdir() if p.is_dir() and galaxy_id_for(p.name))
    if galaxy:
        folders = [p for p in folders if galaxy_id_for(p.name) == galaxy]
    folder = folders[0]
    gid = galaxy_id_for(folder.name)
    written = []
    fig, images, x, y, cat = survey_mosaic(folder, gid)
    p = out_dir / f"{gid}_mosaic.png"
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(p)
    cut = np.stack([np.stack([Cutout2D(images[b], (xi, yi), 112, mode="partial", fill_value=0).data
                              for b in range(5)]) for xi, yi in zip(x, y)])
    fig = cutout_gallery(cut, cat["log_age"].to_numpy(), n=n_gallery,
                         title=f"{gid}: mock cutouts ordered by reference log age")
    p = out_dir / f"{gid}_gallery.png"
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(p)
    return written

