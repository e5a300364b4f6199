"""Tables shipped with the package, with their provenance.

All come from ``shared/reference`` of the project (see ``data/ssp_provenance.md`` for the SSP grids):

- ``galaxies_table1.csv``: Table 1 of the study (distance in Mpc, aperture radius and cutout size in pc, N clusters)
  plus the near/far groups of its Figs. 6-7.
- ``phangs_age_distribution_by_galaxy.csv``: the real distribution of PHANGS reference ages (SED grid values) per
  galaxy, derived from the predictions the study's authors published with their code (8651 clusters).
- ``authors_released_runs_scatter.csv``: test scatter of the authors' released runs (mean and spread over 5 models).
- ``ssp_bc03_solar_hst_ab*.csv``: BC03 (2016, MILES) solar-metallicity Kroupa SSP AB magnitudes per Msun formed.
"""
from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd

from ..constants import BANDS, PIXEL_SCALE_ARCSEC

__all__ = ["GALAXY_CENTRES_DEG", "FULL_LOG_AGE_RANGE", "RESTRICTED_LOG_AGE_RANGE", "galaxies", "check_galaxies",
           "age_distribution", "ssp_table", "ssp_magnitudes", "study_scatter", "pc_per_px",
           "pixel_scale_arcsec"]

#: Galaxy centres (deg, ICRS) from the PHANGS-HST release notes; used to place mock mosaics on the sky.
GALAXY_CENTRES_DEG: dict[str, tuple[float, float]] = {
    "NGC_5068": (199.7284, -21.0391), "IC_5332": (353.6145, -36.1011), "NGC_628C": (24.1740, 15.7837),
    "NGC_3351": (160.9904, 11.7038), "NGC_3627": (170.0623, 12.9915), "NGC_2835": (139.4705, -22.3547),
    "NGC_4254": (184.7067, 14.4165), "NGC_5248": (204.3834, 8.8852), "NGC_4321": (185.7285, 15.8218),
    "NGC_4535": (188.5846, 8.1978), "NGC_1566": (65.0018, -54.9378), "NGC_1433": (55.5065, -47.2221),
    "NGC_7496": (347.4470, -43.4279), "NGC_1512": (60.9762, -43.3489), "NGC_1365": (53.4015, -36.1404),
}

#: Study's sample selections (log10 age/yr).
FULL_LOG_AGE_RANGE = (6.0, 10.14)
RESTRICTED_LOG_AGE_RANGE = (7.0, 9.5)


def pc_per_px(distance_mpc, pixel_scale_arcsec: float = PIXEL_SCALE_ARCSEC):
    """Parsec per pixel at a distance: the one place the book converts angles to lengths (astropy units).

    Parameters
    ----------
    distance_mpc : float or array_like
        Distance (Mpc).
    pixel_scale_arcsec : float or array_like
        Pixel scale (arcsec/px); the study's 0.04 by default, a real mosaic's from its WCS
        (:func:`pixel_scale_arcsec`).

    Returns
    -------
    float or ndarray
    """
    import astropy.units as u

    length = (np.asarray(distance_mpc, float) * u.Mpc) * (np.asarray(pixel_scale_arcsec, float) * u.arcsec)
    out = length.to(u.pc, equivalencies=u.dimensionless_angles()).value
    return float(out) if np.ndim(out) == 0 else out


def pixel_scale_arcsec(wcs) -> float:
    """The pixel scale (arcsec/px) of a celestial WCS (``proj_plane_pixel_scales``, mean of the two axes):
    0.0396" for PHANGS-HST mosaics, which the study rounds to 0.04".

    Raises
    ------
    ValueError
        If the two axes' scales differ by more than 1 % (non-square pixels).
    """
    import astropy.units as u
    from astropy.wcs.utils import proj_plane_pixel_scales

    scales = (proj_plane_pixel_scales(wcs.celestial) * u.deg).to(u.arcsec).value
    if abs(scales[0] - scales[1]) > 0.01 * scales.mean():
        raise ValueError(f"non-square pixels: {scales[0]:.5f} x {scales[1]:.5f} arcsec")
    return float(scales.mean())


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files("clusterage_utils").joinpath("data", name).open("r") as fh:
        return pd.read_csv(fh, comment="#")


@functools.cache
def _galaxies() -> pd.DataFrame:
    df = _read_csv("galaxies_table1.csv")
    df["pc_per_px"] = pc_per_px(df["distance_mpc"].to_numpy())
    return df.set_index("galaxy_id", drop=False)


def galaxies() -> pd.DataFrame:
    """Table 1 of the study, indexed by galaxy id (``NGC_628C`` style), with ``pc_per_px`` added.

    Returns
    -------
    pandas.DataFrame
        Columns ``galaxy_id, distance_mpc, distance_err_mpc, aperture_radius_pc, cutout_size_pc, n_clusters,
        distance_group`` (``near``, ``far`` or ``other``) and ``pc_per_px`` (parsec per 0.04" pixel).
    """
    return _galaxies().copy()


def check_galaxies(names) -> list[str]:
    """Return ``names`` as a list of known galaxy ids, or raise a ValueError listing the allowed ones."""
    known = list(_galaxies().index)
    names = list(names)
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"unknown galaxy id(s) {bad}; allowed: {', '.join(known)}")
    return names


@functools.cache
def age_distribution() -> pd.DataFrame:
    """Real PHANGS reference-age distribution: columns ``galaxy_id, log_age, n_clusters`` (SED grid values)."""
    return _read_csv("phangs_age_distribution_by_galaxy.csv")


@functools.cache
def ssp_table(nebular: bool = False) -> pd.DataFrame:
    """BC03 SSP absolute AB magnitudes (10 pc) per Msun formed in the five bands, vs ``log_age``.

    Parameters
    ----------
    nebular : bool
        If True, add the nebular emission (continuum + lines, logU = -2.5, covering factor 1) computed by bagpipes
        for ages below 10 Myr: the difference ``neb - star`` on its 0.1-dex grid is interpolated onto the main
        0.05-dex grid and added.

    Returns
    -------
    pandas.DataFrame
        ``log_age`` and ``M_<band>`` columns for the five bands, 6.00 to 10.10 in steps of 0.05 dex.
    """
    main = _read_csv("ssp_bc03_solar_hst_ab.csv")
    out = main[["log_age"] + [f"M_{b}" for b in BANDS]].copy()
    if nebular:
        neb = _read_csv("ssp_bc03_solar_hst_ab_nebular.csv")
        for b in BANDS:
            delta = neb[f"M_{b}_neb"] - neb[f"M_{b}_star"]
            out[f"M_{b}"] = out[f"M_{b}"] + np.interp(out["log_age"], neb["log_age"], delta)
    return out


def ssp_magnitudes(log_age, nebular: bool = False) -> np.ndarray:
    """Absolute AB magnitudes per Msun formed at ``log_age`` (array), shape ``(..., 5)``, linear in log age."""
    tab = ssp_table(nebular)
    la = np.clip(np.asarray(log_age, float), tab["log_age"].iloc[0], tab["log_age"].iloc[-1])
    return np.stack([np.interp(la, tab["log_age"], tab[f"M_{b}"]) for b in BANDS], axis=-1)


@functools.cache
def study_scatter() -> pd.DataFrame:
    """The authors' released runs: mean and spread of the test scatter (dex) over 5 models, per configuration.

    Columns: ``input, sample, mask, diameter_px, n_models, test_scatter_dex_mean, test_scatter_dex_std,
    null_scatter_dex, n_train, n_val, n_test, predictive_power_pct``.
    """
    return _read_csv("authors_released_runs_scatter.csv")



