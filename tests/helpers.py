"""Small PHANGS-format products written by the tests: mosaics with a TAN WCS and DR4-column catalogues."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from clusterage_utils.constants import BANDS
from clusterage_utils.engine.profiles import TrainingSettings
from clusterage_utils.survey.mock import make_wcs
from clusterage_utils.survey.products import catalogue_filenames, image_filename

#: Training settings of the learnable toy (tests): tiny, fast, one seed.
TOY = TrainingSettings(width=1 / 16, epochs=25, patience=25, batch_size=32, learning_rate=2e-3, rotations="random",
                       seeds=(0,), diameters_px=(0, 8))


def write_products(root: Path, galaxy_id: str = "NGC_1566", shape=(400, 420), sources=((200.0, 210.0),),
                   ages_myr=None, nan_border: int = 5, drop_band: str | None = None, drop_column: str | None = None,
                   duplicate_ids: bool = False, classes=None, shift_deg: float = 0.0, seed: int = 0) -> Path:
    """Write five mosaics (Gaussian sources at integer pixels ``sources`` (x, y) on noise, NaN border) and an
    obs + sed catalogue. Returns the galaxy folder."""
    rng = np.random.default_rng(seed)
    folder = root / galaxy_id.lower().replace("_", "")
    folder.mkdir(parents=True, exist_ok=True)
    wcs = make_wcs(galaxy_id, shape)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    for band in BANDS:
        if band == drop_band:
            continue
        img = rng.normal(0, 0.01, shape)
        for (x, y) in sources:
            img += 50.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.0**2))
        img[:nan_border] = np.nan
        img[-nan_border:] = np.nan
        img[:, :nan_border] = np.nan
        img[:, -nan_border:] = np.nan
        fits.PrimaryHDU(img.astype(np.float32), header=wcs.to_header()).writeto(
            folder / image_filename(galaxy_id, band), overwrite=True)
    n = len(sources)
    xs = np.array([s[0] for s in sources])
    ys = np.array([s[1] for s in sources])
    ra, dec = wcs.pixel_to_world_values(xs, ys)
    ids = np.arange(1, n + 1)
    if duplicate_ids and n > 1:
        ids[1] = ids[0]
    obs = Table({"ID_PHANGS_CLUSTER": ids, "PHANGS_RA": ra + shift_deg, "PHANGS_DEC": dec,
                 "PHANGS_X": xs, "PHANGS_Y": ys,
                 "PHANGS_CLUSTER_CLASS_HUMAN": np.asarray(classes if classes is not None else [1] * n),
                 "PHANGS_CLUSTER_CLASS_ML_VGG": np.ones(n, int)})
    ages = np.asarray(ages_myr if ages_myr is not None else np.full(n, 10.0), float)
    sed = Table({"ID_PHANGS_CLUSTER": ids, "PHANGS_SED_AGE": ages, "PHANGS_SED_MASS": np.full(n, 1e4),
                 "PHANGS_SED_EBV": np.full(n, 0.1), "PHANGS_DMPC": np.full(n, 17.69)})
    if drop_column:
        for t in (obs, sed):
            if drop_column in t.colnames:
                t.remove_column(drop_column)
    obs_name, sed_name = catalogue_filenames(galaxy_id)
    fits.BinTableHDU(obs).writeto(folder / obs_name, overwrite=True)
    fits.BinTableHDU(sed).writeto(folder / sed_name, overwrite=True)
    return folder


def write_study_file(path: Path, n: int = 6, size: int = 32, **overrides) -> Path:
    """A file in the study's own schema (only the four datasets)."""
    import h5py

    rng = np.random.default_rng(1)
    data = {
        "image_cutouts": rng.random((n, 5, size, size)).astype(np.float32),
        "cluster_log_ages": rng.uniform(6, 10, n).astype(np.float32),
        "cluster_ids": np.arange(n, dtype=np.int32),
        "galaxy_ids": np.array(["NGC_628C"] * (n // 2) + ["NGC_1365"] * (n - n // 2), dtype=object),
    }
    data.update(overrides)
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            if v is None:
                continue
            if v.dtype == object:
                f.create_dataset(k, data=v, dtype=h5py.string_dtype())
            else:
                f.create_dataset(k, data=v)
    return path
