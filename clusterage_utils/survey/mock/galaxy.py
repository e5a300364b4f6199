"""One simulated galaxy: its clusters' truth, their positions and environments, the rendered mosaics and the
reference ages measured from them like the real ones."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...constants import BANDS
from .. import photometry as ph
from ..products import image_filename
from ..reference import galaxies
from .config import CUTOUT_SIZE_PX, REFF_MEDIAN_PC, MockSurveyConfig, _rng
from .physics import draw_detected_masses, draw_ebv, draw_environment, draw_log_ages, dust_covering
from .rendering import _cutout_fits_footprint, make_wcs, mosaic_shape, render

__all__ = ["GalaxyMock", "simulate_galaxy"]


@dataclass
class GalaxyMock:
    """One simulated galaxy: its mosaics (5, ny, nx) in e-/s, WCS and catalogue (pandas)."""

    galaxy_id: str
    images: np.ndarray
    wcs: object
    catalogue: pd.DataFrame
    noiseless_rates: np.ndarray = field(repr=False, default=None)  # (N, 5) e-/s of each cluster alone


def _draw_truth(galaxy_id: str, cfg: MockSurveyConfig, n: int, dist: float, true_log_age) -> dict:
    """True ages, environment ages, dust, detected masses and effective radii of ``n`` clusters, each from its own
    random stream.

    A cluster's surroundings are its own (environment age = its age) with probability ``environment_coupling`` x
    exp(-age / ``natal_retention_myr``), else an unrelated patch of the galaxy (an independent draw)."""
    age = draw_log_ages(galaxy_id, n, _rng(cfg.seed, galaxy_id, "age")) if true_log_age is None \
        else np.asarray(true_log_age, float)
    r_env = _rng(cfg.seed, galaxy_id, "env_age")
    coupled = r_env.random(n) < cfg.environment_coupling
    indep = draw_log_ages(galaxy_id, n, r_env)
    if cfg.natal_retention_myr is not None:     # drawn last: None leaves the other draws as in version 2
        coupled &= r_env.random(n) < np.exp(-(10.0 ** (age - 6.0)) / cfg.natal_retention_myr)
    r_m = _rng(cfg.seed, galaxy_id, "mass")
    ebv = draw_ebv(age, r_m)
    mass = draw_detected_masses(age, ebv, dist, cfg.detection_limit_mag, r_m, cfg.nebular)
    r_s = _rng(cfg.seed, galaxy_id, "shape")
    reff_pc = REFF_MEDIAN_PC * np.exp(r_s.normal(0, 0.35, n)) * (1.0 + cfg.reff_growth_per_dex * (age - 6.0))
    return {"age": age, "env_age": np.where(coupled, age, indep), "coupled": coupled, "ebv": ebv, "mass": mass,
            "reff_pc": reff_pc}


def _place(galaxy_id: str, cfg: MockSurveyConfig, n: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """Uniform positions whose whole cutout lies inside the footprint."""
    r_p = _rng(cfg.seed, galaxy_id, "place")
    xs, ys = np.empty(n), np.empty(n)
    filled = 0
    while filled < n:
        cx = r_p.uniform(0, shape[1] - 1, 4 * n)
        cy = r_p.uniform(0, shape[0] - 1, 4 * n)
        ok = _cutout_fits_footprint(cx, cy, shape)
        take = min(n - filled, int(ok.sum()))
        xs[filled:filled + take] = cx[ok][:take]
        ys[filled:filled + take] = cy[ok][:take]
        filled += take
    return xs, ys


def _measure_reference_ages(cat: pd.DataFrame, images, xs, ys, dist: float, cfg: MockSurveyConfig,
                            galaxy_id: str) -> None:
    """Aperture photometry and an SSP fit, as PHANGS measured its reference ages; adds the catalogue's flux and
    SED columns."""
    flux, err = ph.aperture_photometry(images, xs, ys, sky_sigma_clip=cfg.sky_sigma_clip)
    fit = ph.fit_ssp(flux, err, dist, cfg.nebular)
    mjy, mjy_err = ph.rate_to_mjy(flux), ph.rate_to_mjy(err)
    for b, band in enumerate(BANDS):
        name = "F435W" if (band == "F438W" and "acs" in image_filename(galaxy_id, band)) else band
        cat[f"PHANGS_{name}_mJy"] = mjy[:, b]
        cat[f"PHANGS_{name}_mJy_ERR"] = mjy_err[:, b]
    cat["PHANGS_SED_AGE"] = 10.0 ** (fit["log_age"] - 6.0)  # Myr, as the real catalogues
    cat["PHANGS_SED_MASS"] = fit["mass_msun"] / 0.6  # aperture correction: ~60 % of the light in 4 px
    cat["PHANGS_SED_EBV"] = fit["ebv_mag"]
    cat["PHANGS_SED_CHISQ"] = fit["chi2"]


def simulate_galaxy(galaxy_id: str, cfg: MockSurveyConfig, true_log_age: np.ndarray | None = None,
                    render_images: bool = True) -> GalaxyMock:
    """Simulate one galaxy: draw clusters and environments, render the mosaics, measure reference ages.

    Parameters
    ----------
    galaxy_id : str
        Table 1 id.
    cfg : MockSurveyConfig
        Survey parameters.
    true_log_age : ndarray, optional
        Override the true ages (tests use this to vary true age at fixed environment age).
    render_images : bool
        If False, skip images and photometry (catalogue truth only; fast).
    """
    gal = galaxies().loc[galaxy_id]
    dist, pc_px = float(gal["distance_mpc"]), float(gal["pc_per_px"])
    n = max(1, int(round(cfg.fraction * gal["n_clusters"])))
    t = _draw_truth(galaxy_id, cfg, n, dist, true_log_age)
    shape = mosaic_shape(n, cfg.area_per_cluster_px)
    xs, ys = _place(galaxy_id, cfg, n, shape)
    env = draw_environment(t["env_age"], _rng(cfg.seed, galaxy_id, "env"), cfg)
    wcs = make_wcs(galaxy_id, shape)
    ra, dec = wcs.pixel_to_world_values(xs, ys)
    cat = pd.DataFrame({
        "ID_PHANGS_CLUSTER": np.arange(1, n + 1, dtype=np.int32),
        "PHANGS_X": xs, "PHANGS_Y": ys, "PHANGS_RA": ra, "PHANGS_DEC": dec,
        "PHANGS_CLUSTER_CLASS_HUMAN": np.where(_rng(cfg.seed, galaxy_id, "shape").random(n) < 0.55, 1, 2)
        .astype(np.int16),
        "MOCK_TRUE_LOG_AGE": t["age"], "MOCK_TRUE_MASS": t["mass"], "MOCK_TRUE_EBV": t["ebv"],
        "MOCK_REFF_PC": t["reff_pc"], "MOCK_ENV_LOG_AGE": t["env_age"],
        "MOCK_ENV_COUPLED": t["coupled"].astype(np.int16),
        "MOCK_N_NEIGHBOURS": env.n_neighbours.astype(np.int32),
        "MOCK_DUST_COVER": dust_covering(env, n, radius_pc=CUTOUT_SIZE_PX / 2 * pc_px),
    })
    cat["PHANGS_CLUSTER_CLASS_ML_VGG"] = cat["PHANGS_CLUSTER_CLASS_HUMAN"]
    cat["PHANGS_DMPC"] = dist
    rates = ph.model_rates(t["age"], t["mass"], t["ebv"], dist, cfg.nebular)
    if not render_images:
        return GalaxyMock(galaxy_id, np.zeros((5, 0, 0), np.float32), wcs, cat, rates)
    images, screen = render(galaxy_id, cfg, shape, xs, ys, t["env_age"], t["reff_pc"], env, pc_px, dist, rates)
    # the lanes also redden the catalogued cluster seen through them
    cat["MOCK_TRUE_EBV"] = t["ebv"] + screen[np.clip(ys.round().astype(int), 0, shape[0] - 1),
                                             np.clip(xs.round().astype(int), 0, shape[1] - 1)]
    _measure_reference_ages(cat, images, xs, ys, dist, cfg, galaxy_id)
    return GalaxyMock(galaxy_id, images, wcs, cat, rates)
