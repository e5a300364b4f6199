"""The mock PHANGS-HST survey: synthetic products in the real formats, with known truth.

Per galaxy of Table 1 the survey writes five HLSP-like FITS mosaics (TAN WCS, e-/s, NaN outside the footprint) and
DR4-like ``obs`` and ``sed`` cluster catalogues, with the truth the real ones lack (``MOCK_*`` columns).

Physics, each ingredient with its source:

- **Ages**: drawn per galaxy from the real PHANGS reference-age distribution (``reference.age_distribution``),
  spread uniformly within each grid cell (6.0-6.3 for the 1-Myr pile), so the truth is continuous.
- **Masses**: dN/dM ~ M^-2 on [1e3, 1e6] Msun, conditioned on passing an apparent F555W detection limit
  (``detection_limit_mag``), as in a V-band-selected catalogue: old detected clusters are massive.
- **Colours**: BC03 2016 SSPs (solar, Kroupa; ``reference.ssp_table``), optional nebular emission below 10 Myr.
- **Dust**: own E(B-V) falling with age (gamma-distributed, mean 0.4 mag below 5 Myr, 0.2 to 30 Myr, 0.05 after);
  extinction per band from Cardelli et al. (1989), R_V = 3.1 (``dust_extinction``).
- **Light profile**: EFF (gamma = 2.5), effective radius lognormal around 2.5 pc, growing slowly with age
  (Ryon et al. 2017 find ~2.5 pc with weak age dependence); convolved with a Gaussian PSF of FWHM 1.7 px.
- **Environment**, drawn from each cluster's *environment age* (``MOCK_ENV_LOG_AGE``):
  young complexes of coeval neighbours that disperse with age (20 -> ~170 pc over ~100 Myr), dust lanes
  (filamentary screens, frequent around young complexes), and diffuse blue light of unresolved young stars
  fading over ~100 Myr. Nuisance layers that carry no age information: smooth old disc light and resolved old
  field stars, both uniform in age.
- **The knob** ``environment_coupling`` c in [0, 1]: with probability c a cluster's environment age is its true
  age, otherwise an independent draw from the galaxy's age distribution. Catalogue positions are uniform (no
  age-dependent clustering of catalogued clusters), so at c = 0 the environment carries no age information.
- **Noise**: Poisson on source + sky (e-) for each band's exposure, Gaussian read noise, approximate AB zero points.

Reference ages are then measured like the real ones (``photometry.aperture_photometry`` + ``photometry.fit_ssp``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from . import BANDS, PIXEL_SCALE_ARCSEC, __version__
from . import photometry as ph
from ._atomic import atomic_path
from .products import IMAGE_TARGETS, catalogue_filenames, image_filename
from .reference import GALAXY_CENTRES_DEG, age_distribution, check_galaxies, galaxies

__all__ = ["CUTOUT_SIZE_PX", "MASS_RANGE_MSUN", "EFF_GAMMA", "REFF_MEDIAN_PC", "MOCK_VERSION", "MockSurveyConfig",
           "draw_log_ages", "mean_ebv_mag", "draw_ebv", "detection_mass_limit", "draw_detected_masses",
           "Environment", "draw_environment", "dust_covering", "mosaic_shape", "footprint_mask",
           "make_wcs", "GalaxyMock", "simulate_galaxy", "make_mock_survey", "read_manifest"]

#: Width of the study's cutouts (px); catalogued clusters are placed so that their cutout lies in the footprint.
CUTOUT_SIZE_PX = 112

MASS_RANGE_MSUN = (1e3, 1e6)
EFF_GAMMA = 2.5
REFF_MEDIAN_PC = 2.5
#: Bumped when the mock's physics or its reference ages change, so stale default surveys are remade:
#: 2 = sigma-clipped local sky in the reference-age photometry.
MOCK_VERSION = 2


@dataclass(frozen=True)
class MockSurveyConfig:
    """Parameters of a mock survey.

    Attributes
    ----------
    seed : int
        Random seed; the same seed and parameters give identical files.
    fraction : float
        Fraction of Table 1's N per galaxy, in (0, 1].
    environment_coupling : float
        Probability that a cluster's environment is drawn from its own age, in [0, 1].
    galaxies : tuple of str
        Table 1 galaxy ids (default: all 15).
    nebular : bool
        Add nebular emission to clusters younger than 10 Myr.
    area_per_cluster_px : float
        Mosaic area per catalogued cluster (px^2); sets the crowding. 100^2 puts on average ~1.3 other catalogued
        clusters inside a 112-px cutout, before the (age-dependent) uncatalogued neighbours.
    detection_limit_mag : float
        Apparent F555W AB magnitude limit of the catalogue.
    sky_sigma_clip : float or None
        Sigma clipping of the local-sky annulus in the reference-age photometry (None: a plain median, the mock's
        version 1; see :func:`~clusterage_utils.photometry.aperture_photometry`).
    """

    seed: int = 0
    fraction: float = 0.25
    environment_coupling: float = 1.0
    galaxies: tuple[str, ...] = tuple(galaxies().index)
    nebular: bool = False
    area_per_cluster_px: float = 100.0**2
    detection_limit_mag: float = 24.5
    sky_sigma_clip: float | None = 3.0

    def __post_init__(self):
        if not (isinstance(self.fraction, (int, float)) and 0 < self.fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if not (isinstance(self.environment_coupling, (int, float)) and 0 <= self.environment_coupling <= 1):
            raise ValueError(f"environment_coupling must be in [0, 1], got {self.environment_coupling!r}")
        object.__setattr__(self, "galaxies", tuple(check_galaxies(self.galaxies)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------------------------- random streams
_STREAMS = {"age": 1, "env_age": 2, "mass": 3, "place": 4, "env": 5, "disc": 6, "stars": 7, "noise": 8, "shape": 9}


def _rng(cfg_seed: int, galaxy_id: str, stream: str) -> np.random.Generator:
    """Independent generator per (seed, galaxy, stream): a galaxy's content does not depend on the subset chosen,
    and environment draws do not depend on true ages."""
    gidx = list(galaxies().index).index(galaxy_id)
    return np.random.default_rng([cfg_seed, gidx, _STREAMS[stream]])


# ----------------------------------------------------------------------------------------------- ages and masses
def draw_log_ages(galaxy_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw continuous true log ages from the real per-galaxy distribution of PHANGS reference ages.

    Each reference-grid value is spread uniformly over its cell (half-way to the neighbouring grid values);
    the 1-Myr pile (log age 6.0) is spread over 6.0-6.3.
    """
    d = age_distribution()
    d = d[d["galaxy_id"] == galaxy_id].sort_values("log_age")
    grid = d["log_age"].to_numpy(float)
    p = d["n_clusters"].to_numpy(float)
    p /= p.sum()
    mid = 0.5 * (grid[1:] + grid[:-1])
    lo = np.concatenate([[grid[0]], mid])
    hi = np.concatenate([mid, [grid[-1] + (grid[-1] - mid[-1]) if len(mid) else grid[-1] + 0.05]])
    if np.isclose(grid[0], 6.0):
        hi[0] = max(hi[0], 6.3)
    k = rng.choice(len(grid), size=n, p=p)
    return np.clip(lo[k] + (hi[k] - lo[k]) * rng.random(n), 6.0, 10.14)


def mean_ebv_mag(log_age) -> np.ndarray:
    """Mean own E(B-V) of a cluster vs age: 0.4 mag below 5 Myr, 0.2 to 30 Myr, 0.05 after (smoothly joined)."""
    la = np.asarray(log_age, float)
    return np.interp(la, [6.0, 6.6, 6.8, 7.4, 7.6, 10.2], [0.4, 0.4, 0.2, 0.2, 0.05, 0.05])


def draw_ebv(log_age, rng: np.random.Generator) -> np.ndarray:
    """Own E(B-V) (mag): gamma-distributed (shape 2) around :func:`mean_ebv_mag`, clipped to [0, 1.5]."""
    m = mean_ebv_mag(log_age)
    return np.clip(rng.gamma(2.0, m / 2.0), 0.0, 1.5)


def detection_mass_limit(log_age, ebv_mag, distance_mpc: float, limit_mag: float, nebular: bool = False):
    """Smallest mass formed (Msun) whose F555W AB magnitude is brighter than ``limit_mag``."""
    m1 = ph.model_rates(log_age, np.ones_like(np.asarray(log_age, float)), ebv_mag, distance_mpc, nebular)[..., 3]
    mag1 = ph.AB_ZEROPOINT[3] - 2.5 * np.log10(m1)  # magnitude of 1 Msun
    return 10.0 ** (0.4 * (mag1 - limit_mag))


def draw_detected_masses(log_age, ebv_mag, distance_mpc: float, limit_mag: float, rng: np.random.Generator,
                         nebular: bool = False) -> np.ndarray:
    """Masses from dN/dM ~ M^-2 on [1e3, 1e6] Msun, conditioned on detection (inverse CDF, truncated below).

    Where even 1e6 Msun would be too faint, the mass is drawn just above the limit (up to 1.5x): the real age
    distribution is kept, and such clusters are flagged implicitly by their large masses.
    """
    lo = np.maximum(MASS_RANGE_MSUN[0], detection_mass_limit(log_age, ebv_mag, distance_mpc, limit_mag, nebular))
    hi = np.maximum(MASS_RANGE_MSUN[1], lo * 1.5)
    u = rng.random(len(lo))
    return 1.0 / (1.0 / lo - u * (1.0 / lo - 1.0 / hi))


# ----------------------------------------------------------------------------------------------- environment
@dataclass
class Environment:
    """Environment layers drawn for a set of clusters from their environment ages alone.

    Attributes are per-cluster arrays (``n_neighbours``, ``diffuse_mass_msun``, ``diffuse_sigma_pc``,
    ``n_lanes``, ``lane_ebv_mag``) and flat arrays over all neighbours (``nb_owner``, ``nb_dx_pc``, ``nb_dy_pc``,
    ``nb_log_age``, ``nb_mass_msun``, ``nb_ebv_mag``) and lane points (``lane_owner``, ``lane_x_pc``,
    ``lane_y_pc``, ``lane_weight``), positions relative to the owning cluster.
    """

    n_neighbours: np.ndarray
    nb_owner: np.ndarray
    nb_dx_pc: np.ndarray
    nb_dy_pc: np.ndarray
    nb_log_age: np.ndarray
    nb_mass_msun: np.ndarray
    nb_ebv_mag: np.ndarray
    diffuse_mass_msun: np.ndarray
    diffuse_sigma_pc: np.ndarray
    n_lanes: np.ndarray
    lane_ebv_mag: np.ndarray
    lane_owner: np.ndarray
    lane_x_pc: np.ndarray
    lane_y_pc: np.ndarray
    lane_width_pc: np.ndarray


def draw_environment(env_log_age, rng: np.random.Generator) -> Environment:
    """Draw the age-dependent environment layers (complexes, dust lanes, diffuse young light).

    Only ``env_log_age`` enters: this is what makes ``environment_coupling`` an exact knob.

    Layer laws (t = environment age in Myr):

    - complex members: N ~ Poisson(0.5 + 8 exp(-t / 30 Myr)), coeval (age scatter 0.1 dex), masses M^-2 on
      [200, 2e4] Msun, Gaussian offsets of sigma 20 + 150 (1 - exp(-t / 100 Myr)) pc (dispersal);
    - diffuse young light: mass 1e5 exp(-t / 100 Myr) Msun of the environment's age, Gaussian of sigma
      40 + 60 min(1, t / 100 Myr) pc;
    - dust lanes: N ~ Poisson(0.1 + 2.5 exp(-t / 20 Myr)) filaments (random walks of 60-250 pc starting within
      60 pc of the cluster, 15-60 pc wide), peak E(B-V) U(0.1, 0.5) x (0.3 + 0.7 exp(-t / 50 Myr)) mag.
    """
    la = np.asarray(env_log_age, float)
    n = len(la)
    t = 10.0 ** (la - 6.0)
    # complexes
    nnb = rng.poisson(0.5 + 8.0 * np.exp(-t / 30.0))
    owner = np.repeat(np.arange(n), nnb)
    sig = (20.0 + 150.0 * (1.0 - np.exp(-t / 100.0)))[owner]
    dx, dy = rng.normal(0, 1, (2, owner.size)) * sig
    nb_age = np.clip(la[owner] + rng.normal(0, 0.1, owner.size), 6.0, 10.1)
    u = rng.random(owner.size)
    lo, hi = 200.0, 2e4
    nb_mass = 1.0 / (1.0 / lo - u * (1.0 / lo - 1.0 / hi))
    nb_ebv = np.clip(rng.gamma(2.0, mean_ebv_mag(nb_age) / 2.0), 0, 1.5)
    # diffuse young light
    dmass = 1e5 * np.exp(-t / 100.0)
    dsig = 40.0 + 60.0 * np.minimum(1.0, t / 100.0)
    # dust lanes
    nl = rng.poisson(0.1 + 2.5 * np.exp(-t / 20.0))
    lane_cluster = np.repeat(np.arange(n), nl)
    nlanes = lane_cluster.size
    lane_ebv = rng.uniform(0.1, 0.5, nlanes) * (0.3 + 0.7 * np.exp(-t[lane_cluster] / 50.0))
    length = rng.uniform(60, 250, nlanes)
    width = rng.uniform(15, 60, nlanes)
    r0 = 60.0 * np.sqrt(rng.random(nlanes))
    phi0 = rng.uniform(0, 2 * np.pi, nlanes)
    heading = rng.uniform(0, 2 * np.pi, nlanes)
    step_pc = 2.0
    nsteps = np.maximum(2, (length / step_pc).astype(int))
    lane_id = np.repeat(np.arange(nlanes), nsteps)
    turn = rng.normal(0, 0.08, lane_id.size)
    # cumulative heading per lane (random walk in direction), then positions
    start = np.concatenate([[0], np.cumsum(nsteps)[:-1]]) if nlanes else np.zeros(0, int)
    cturn = np.cumsum(turn)
    cturn -= np.repeat(cturn[start] - turn[start], nsteps) if nlanes else 0
    ang = heading[lane_id] + cturn
    sx, sy = np.cos(ang) * step_pc, np.sin(ang) * step_pc
    cx, cy = np.cumsum(sx), np.cumsum(sy)
    if nlanes:
        cx -= np.repeat(cx[start] - sx[start], nsteps)
        cy -= np.repeat(cy[start] - sy[start], nsteps)
    lx = r0[lane_id] * np.cos(phi0[lane_id]) + cx
    ly = r0[lane_id] * np.sin(phi0[lane_id]) + cy
    return Environment(
        n_neighbours=nnb, nb_owner=owner, nb_dx_pc=dx, nb_dy_pc=dy, nb_log_age=nb_age, nb_mass_msun=nb_mass,
        nb_ebv_mag=nb_ebv, diffuse_mass_msun=dmass, diffuse_sigma_pc=dsig, n_lanes=nl,
        lane_ebv_mag=lane_ebv[lane_id] if nlanes else np.zeros(0), lane_owner=lane_cluster[lane_id] if nlanes
        else np.zeros(0, int), lane_x_pc=lx, lane_y_pc=ly, lane_width_pc=width[lane_id] if nlanes else np.zeros(0))


def dust_covering(env: Environment, n: int, radius_pc: float, threshold_mag: float = 0.1) -> np.ndarray:
    """Fraction of lane points of each cluster's own lanes within ``radius_pc`` weighted by thickness: a simple
    per-cluster "dust covering" statistic of the environment (0 when it has no lanes)."""
    r = np.hypot(env.lane_x_pc, env.lane_y_pc)
    inside = (r < radius_pc) & (env.lane_ebv_mag > threshold_mag)
    w = env.lane_width_pc * 2.0 * inside  # area covered per 2-pc step
    cov = np.bincount(env.lane_owner, weights=w, minlength=n) / (np.pi * radius_pc**2)
    return np.clip(cov, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------- rendering
def _stamp_add(images: np.ndarray, x, y, a_px, flux, half: int = 7) -> None:
    """Add EFF-profile sources (core radius ``a_px``) with band fluxes ``flux`` (S, 5) into ``images`` (5, H, W)."""
    nb, h, w = images.shape
    if len(x) == 0:
        return
    off = np.arange(-half, half + 1)
    ix = np.floor(x).astype(int)[:, None] + off[None, :]
    iy = np.floor(y).astype(int)[:, None] + off[None, :]
    dx2 = (ix - np.asarray(x)[:, None]) ** 2
    dy2 = (iy - np.asarray(y)[:, None]) ** 2
    a2 = np.maximum(np.asarray(a_px, float), 0.15)[:, None, None] ** 2
    prof = (1.0 + (dy2[:, :, None] + dx2[:, None, :]) / a2) ** (-EFF_GAMMA / 2.0)
    prof /= prof.sum(axis=(1, 2), keepdims=True)
    ok = (iy[:, :, None] >= 0) & (iy[:, :, None] < h) & (ix[:, None, :] >= 0) & (ix[:, None, :] < w)
    flat = (np.clip(iy, 0, h - 1)[:, :, None] * w + np.clip(ix, 0, w - 1)[:, None, :])[ok]
    for b in range(nb):
        wts = (prof * flux[:, b][:, None, None])[ok]
        images[b] += np.bincount(flat, weights=wts, minlength=h * w).reshape(h, w)


def _point_add(images: np.ndarray, x, y, flux) -> None:
    """Add point sources (bilinear split over four pixels)."""
    nb, h, w = images.shape
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for ddx, ddy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xx, yy = x0 + ddx, y0 + ddy
        ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        flat = yy[ok] * w + xx[ok]
        for b in range(nb):
            images[b] += np.bincount(flat, weights=(flux[ok, b] * wt[ok]), minlength=h * w).reshape(h, w)


def mosaic_shape(n_clusters: int, area_per_cluster_px: float) -> tuple[int, int]:
    """Mosaic (ny, nx): square of area N x ``area_per_cluster_px`` plus a border for the cutouts, >= 480 px."""
    side = int(np.ceil(np.sqrt(max(n_clusters, 1) * area_per_cluster_px))) + CUTOUT_SIZE_PX + 40
    side = max(side, 480)
    return side, side + 16  # slightly non-square so axis mix-ups show


def footprint_mask(shape: tuple[int, int]) -> np.ndarray:
    """True where the mosaic has data: a 10-px border and one cut corner are outside (NaN), like a real footprint."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    inside = (xx >= 10) & (xx < nx - 10) & (yy >= 10) & (yy < ny - 10)
    return inside & (xx + yy >= 0.3 * (nx + ny) / 2)


def _cutout_fits_footprint(x, y, shape) -> np.ndarray:
    ny, nx = shape
    h = CUTOUT_SIZE_PX / 2 + 1
    return ((x - h >= 10) & (x + h < nx - 10) & (y - h >= 10) & (y + h < ny - 10)
            & (x - h + y - h >= 0.3 * (nx + ny) / 2))


def make_wcs(galaxy_id: str, shape: tuple[int, int]):
    """Celestial TAN WCS at 0.04"/px, north up, centred on the galaxy centre."""
    from astropy.wcs import WCS

    ny, nx = shape
    ra, dec = GALAXY_CENTRES_DEG[galaxy_id]
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    s = PIXEL_SCALE_ARCSEC / 3600.0
    w.wcs.cd = [[-s, 0.0], [0.0, s]]
    w.wcs.radesys = "ICRS"
    return w


@dataclass
class GalaxyMock:
    """One simulated galaxy: its mosaics (5, ny, nx) in e-/s, WCS and catalogue (pandas)."""

    galaxy_id: str
    images: np.ndarray
    wcs: object
    catalogue: pd.DataFrame
    noiseless_rates: np.ndarray = field(repr=False, default=None)  # (N, 5) e-/s of each cluster alone


def simulate_galaxy(galaxy_id: str, cfg: MockSurveyConfig, true_log_age: np.ndarray | None = None,
                    render: bool = True) -> GalaxyMock:
    """Simulate one galaxy: draw clusters and environments, render the mosaics, measure reference ages.

    Parameters
    ----------
    galaxy_id : str
        Table 1 id.
    cfg : MockSurveyConfig
        Survey parameters.
    true_log_age : ndarray, optional
        Override the true ages (tests use this to vary true age at fixed environment age).
    render : bool
        If False, skip images and photometry (catalogue truth only; fast).
    """
    gal = galaxies().loc[galaxy_id]
    dist = float(gal["distance_mpc"])
    pc_px = float(gal["pc_per_px"])
    n = max(1, int(round(cfg.fraction * gal["n_clusters"])))

    # --- cluster truth
    age = draw_log_ages(galaxy_id, n, _rng(cfg.seed, galaxy_id, "age")) if true_log_age is None \
        else np.asarray(true_log_age, float)
    r_env = _rng(cfg.seed, galaxy_id, "env_age")
    coupled = r_env.random(n) < cfg.environment_coupling
    indep = draw_log_ages(galaxy_id, n, r_env)
    env_age = np.where(coupled, age, indep)
    r_m = _rng(cfg.seed, galaxy_id, "mass")
    ebv = draw_ebv(age, r_m)
    mass = draw_detected_masses(age, ebv, dist, cfg.detection_limit_mag, r_m, cfg.nebular)
    r_s = _rng(cfg.seed, galaxy_id, "shape")
    reff_pc = REFF_MEDIAN_PC * np.exp(r_s.normal(0, 0.35, n)) * (1.0 + 0.08 * (age - 6.0))
    shape = mosaic_shape(n, cfg.area_per_cluster_px)
    r_p = _rng(cfg.seed, galaxy_id, "place")
    xs, ys = np.empty(n), np.empty(n)
    filled = 0
    while filled < n:  # uniform positions whose cutout lies inside the footprint
        cx = r_p.uniform(0, shape[1] - 1, 4 * n)
        cy = r_p.uniform(0, shape[0] - 1, 4 * n)
        ok = _cutout_fits_footprint(cx, cy, shape)
        take = min(n - filled, int(ok.sum()))
        xs[filled:filled + take] = cx[ok][:take]
        ys[filled:filled + take] = cy[ok][:take]
        filled += take

    env = draw_environment(env_age, _rng(cfg.seed, galaxy_id, "env"))
    cover = dust_covering(env, n, radius_pc=CUTOUT_SIZE_PX / 2 * pc_px)
    wcs = make_wcs(galaxy_id, shape)
    ra, dec = wcs.pixel_to_world_values(xs, ys)
    cat = pd.DataFrame({
        "ID_PHANGS_CLUSTER": np.arange(1, n + 1, dtype=np.int32),
        "PHANGS_X": xs, "PHANGS_Y": ys, "PHANGS_RA": ra, "PHANGS_DEC": dec,
        "PHANGS_CLUSTER_CLASS_HUMAN": np.where(_rng(cfg.seed, galaxy_id, "shape").random(n) < 0.55, 1, 2)
        .astype(np.int16),
        "MOCK_TRUE_LOG_AGE": age, "MOCK_TRUE_MASS": mass, "MOCK_TRUE_EBV": ebv, "MOCK_REFF_PC": reff_pc,
        "MOCK_ENV_LOG_AGE": env_age, "MOCK_ENV_COUPLED": coupled.astype(np.int16),
        "MOCK_N_NEIGHBOURS": env.n_neighbours.astype(np.int32), "MOCK_DUST_COVER": cover,
    })
    cat["PHANGS_CLUSTER_CLASS_ML_VGG"] = cat["PHANGS_CLUSTER_CLASS_HUMAN"]
    cat["PHANGS_DMPC"] = dist
    rates = ph.model_rates(age, mass, ebv, dist, cfg.nebular)
    if not render:
        return GalaxyMock(galaxy_id, np.zeros((5, 0, 0), np.float32), wcs, cat, rates)

    images, screen = _render(galaxy_id, cfg, shape, xs, ys, env_age, reff_pc, env, pc_px, dist, rates)
    # the lanes also redden the catalogued cluster seen through them
    ebv_tot = ebv + screen[np.clip(ys.round().astype(int), 0, shape[0] - 1),
                           np.clip(xs.round().astype(int), 0, shape[1] - 1)]
    cat["MOCK_TRUE_EBV"] = ebv_tot

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
    return GalaxyMock(galaxy_id, images, wcs, cat, rates)


def _render(galaxy_id, cfg, shape, xs, ys, env_age, reff_pc, env: Environment, pc_px, dist, rates):
    """Render the five noisy mosaics (e-/s, NaN outside the footprint) and return them with the dust screen."""
    ny, nx = shape
    img = np.zeros((5, ny, nx))
    ext = ph.extinction_coefficients()
    # dust-lane screen E(B-V)(x, y): splat lane points, blur to the median lane width
    screen = np.zeros((ny, nx))
    if env.lane_owner.size:
        lx = xs[env.lane_owner] + env.lane_x_pc / pc_px
        ly = ys[env.lane_owner] + env.lane_y_pc / pc_px
        ok = (lx >= 0) & (lx < nx - 1) & (ly >= 0) & (ly < ny - 1)
        sig_px = max(0.7, float(np.median(env.lane_width_pc)) / 2.355 / pc_px)
        step_px = 2.0 / pc_px  # lane points are 2 pc apart
        # a line of weights w every step_px, blurred by a 2-D Gaussian of sigma s, peaks at w / (step_px sqrt(2 pi) s)
        wts = env.lane_ebv_mag[ok] * step_px * np.sqrt(2 * np.pi) * sig_px
        flat = ly[ok].astype(int) * nx + lx[ok].astype(int)
        screen = np.bincount(flat, weights=wts, minlength=ny * nx).reshape(ny, nx)
        screen = ndimage.gaussian_filter(screen, sig_px)
        screen = np.minimum(screen, 1.0)
    # 1. smooth old disc light (nuisance): exponential gradient with an arm-like modulation
    r_d = _rng(cfg.seed, galaxy_id, "disc")
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    phi = r_d.uniform(0, 2 * np.pi)
    u = (xx - nx / 2) * np.cos(phi) + (yy - ny / 2) * np.sin(phi)
    v = -(xx - nx / 2) * np.sin(phi) + (yy - ny / 2) * np.cos(phi)
    period_px = r_d.uniform(400, 900)
    scale_length_px = 2000.0 / pc_px  # 2-kpc exponential disc seen across the mosaic
    sb = np.exp(-u / scale_length_px) * (1.0 + 0.35 * np.sin(2 * np.pi * v / period_px + r_d.uniform(0, 6.3)))
    v_rate_px = 10 ** (-0.4 * (20.8 - 2.5 * np.log10(PIXEL_SCALE_ARCSEC**2) - ph.AB_ZEROPOINT[3]))
    old = ph.model_rates(np.array([9.8]), np.array([1.0]), np.array([0.0]), 10.0)[0]
    disc_colour = old / old[3]
    for b in range(5):
        img[b] += sb * v_rate_px * disc_colour[b]
    del xx, yy, u, v, sb
    # 4. diffuse light of unresolved young stars around young complexes (environment age colours)
    drates = ph.model_rates(env_age, env.diffuse_mass_msun, np.full(len(xs), 0.1), dist)
    _add_gaussians(img, xs, ys, env.diffuse_sigma_pc / pc_px, drates)
    # dust screen dims everything behind it (disc and diffuse light)
    img *= 10.0 ** (-0.4 * ext[:, None, None] * screen[None])
    # 5. resolved old field stars (nuisance): uniform, luminosity function ~ 10^(0.3 M_V), M_V in [-5, -1]
    r_st = _rng(cfg.seed, galaxy_id, "stars")
    nstar = r_st.poisson(2e-3 * ny * nx)
    sx, sy = r_st.uniform(0, nx - 1, nstar), r_st.uniform(0, ny - 1, nstar)
    mv = -1.0 - np.log10(1 + r_st.random(nstar) * (10 ** 1.2 - 1)) / 0.3
    star_col = ph.model_rates(np.array([10.0]), np.array([1.0]), np.array([0.0]), 10.0)[0]
    star_col = star_col / star_col[3] * np.array([0.7, 0.8, 0.9, 1.0, 1.3])
    srate = 10 ** (-0.4 * (mv + ph.distance_modulus(dist) - ph.AB_ZEROPOINT[3]))[:, None] * star_col[None, :]
    srate *= _transmission(screen, sx, sy, ext)
    _point_add(img, sx, sy, srate)
    # 2. complex members (uncatalogued neighbours)
    nbx = xs[env.nb_owner] + env.nb_dx_pc / pc_px
    nby = ys[env.nb_owner] + env.nb_dy_pc / pc_px
    nbr = ph.model_rates(env.nb_log_age, env.nb_mass_msun, env.nb_ebv_mag, dist) * _transmission(screen, nbx, nby, ext)
    _stamp_add(img, nbx, nby, REFF_MEDIAN_PC / np.sqrt(15.0) / pc_px * np.ones(len(nbx)), nbr)
    # the catalogued clusters themselves (EFF core radius a = r_eff / sqrt(15) for gamma = 2.5)
    _stamp_add(img, xs, ys, reff_pc / np.sqrt(15.0) / pc_px, rates * _transmission(screen, xs, ys, ext))
    # PSF
    for b in range(5):
        img[b] = ndimage.gaussian_filter(img[b], ph.PSF_FWHM_PX[b] / 2.3548)
    # noise
    r_n = _rng(cfg.seed, galaxy_id, "noise")
    out = np.empty((5, ny, nx), np.float32)
    for b in range(5):
        t = ph.EXPOSURE_TIME_S[b]
        lam = np.clip(img[b], 0, None) * t + ph.SKY_RATE[b] * t
        counts = r_n.poisson(lam).astype(float) - ph.SKY_RATE[b] * t + r_n.normal(0, ph.READ_NOISE_E, lam.shape)
        out[b] = counts / t
    out[:, ~footprint_mask(shape)] = np.nan
    return out, screen


def _transmission(screen, x, y, ext):
    ny, nx = screen.shape
    e = screen[np.clip(np.round(y).astype(int), 0, ny - 1), np.clip(np.round(x).astype(int), 0, nx - 1)]
    return 10.0 ** (-0.4 * ext[None, :] * e[:, None])


def _add_gaussians(img, x, y, sigma_px, rates, nsig: float = 3.0):
    nb, ny, nx = img.shape
    for i in np.nonzero(rates[:, 3] > 1e-3)[0]:
        s = sigma_px[i]
        r = int(np.ceil(nsig * s))
        x0, x1 = max(0, int(x[i]) - r), min(nx, int(x[i]) + r + 1)
        y0, y1 = max(0, int(y[i]) - r), min(ny, int(y[i]) + r + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-0.5 * ((np.arange(x0, x1) - x[i]) / s) ** 2)
        gy = np.exp(-0.5 * ((np.arange(y0, y1) - y[i]) / s) ** 2)
        g = np.outer(gy, gx) / (2 * np.pi * s * s)
        img[:, y0:y1, x0:x1] += rates[i][:, None, None] * g[None]


# ----------------------------------------------------------------------------------------------- writing
def _write_images(folder: Path, gm: GalaxyMock, cfg: MockSurveyConfig) -> None:
    from astropy.io import fits

    for b, band in enumerate(BANDS):
        name = image_filename(gm.galaxy_id, band)
        hdr = gm.wcs.to_header()
        plam = ph.PIVOT_WAVELENGTH_AA[b]
        hdr["BUNIT"] = ("ELECTRONS/S", "count rate")
        hdr["FILTER"] = ("F435W" if "f435w" in name else band)
        hdr["INSTRUME"] = ("ACS" if "acs-wfc" in name else "WFC3")
        hdr["EXPTIME"] = (float(ph.EXPOSURE_TIME_S[b]), "s")
        hdr["PHOTPLAM"] = (float(plam), "pivot wavelength (A)")
        hdr["PHOTFLAM"] = (float(10 ** (-0.4 * (ph.AB_ZEROPOINT[b] + 2.408)) / plam**2), "erg/cm2/A per e-/s")
        hdr["TARGNAME"] = IMAGE_TARGETS.get(gm.galaxy_id, gm.galaxy_id)
        hdr["MOCK"] = (True, "synthetic product of the clusterage mock survey")
        hdr["MOCKSEED"] = cfg.seed
        hdr["MOCKCPL"] = (cfg.environment_coupling, "environment coupling")
        with atomic_path(folder / name) as tmp:
            fits.PrimaryHDU(gm.images[b], header=hdr).writeto(tmp)


def _write_catalogues(folder: Path, gm: GalaxyMock, cfg: MockSurveyConfig) -> None:
    from astropy.io import fits
    from astropy.table import Table

    obs_name, sed_name = catalogue_filenames(gm.galaxy_id)
    cat = gm.catalogue
    obs_cols = ["ID_PHANGS_CLUSTER", "PHANGS_X", "PHANGS_Y", "PHANGS_RA", "PHANGS_DEC",
                "PHANGS_CLUSTER_CLASS_HUMAN", "PHANGS_CLUSTER_CLASS_ML_VGG"] + \
               [c for c in cat.columns if c.endswith("_mJy") or c.endswith("_mJy_ERR")]
    sed_cols = ["ID_PHANGS_CLUSTER", "PHANGS_SED_AGE", "PHANGS_SED_MASS", "PHANGS_SED_EBV", "PHANGS_SED_CHISQ",
                "PHANGS_DMPC"] + [c for c in cat.columns if c.startswith("MOCK_")]
    for name, cols in ((obs_name, obs_cols), (sed_name, sed_cols)):
        t = Table.from_pandas(cat[[c for c in cols if c in cat.columns]])
        t.meta["MOCK"] = True
        t.meta["MOCKSEED"] = cfg.seed
        with atomic_path(folder / name) as tmp:
            fits.BinTableHDU(t).writeto(tmp)  # data in HDU 1, as the real catalogues


def _check_output_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"output directory {out_dir} exists; choose another or pass --overwrite "
                              f"(overwrite=True) to replace it")
    parent = out_dir.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"output directory {out_dir}: {parent} is a file, not a directory; "
                                 f"choose another location")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"output directory {out_dir}: {parent} is not writable; choose a writable location")


def make_mock_survey(out_dir: str | os.PathLike, cfg: MockSurveyConfig | None = None, overwrite: bool = False,
                     progress: bool = True, preview: bool = False) -> Path:
    """Write a mock PHANGS-HST survey to ``out_dir`` (one sub-folder per galaxy) and return its path.

    The survey is built in a temporary sibling folder and renamed into place at the end, so an interrupted run
    leaves nothing under ``out_dir``. A ``mock_survey.json`` manifest records the parameters.

    Parameters
    ----------
    out_dir : path-like
        Destination; refused if it exists unless ``overwrite``.
    cfg : MockSurveyConfig
        Parameters (defaults: seed 0, fraction 0.25, coupling 1, all galaxies).
    overwrite : bool
        Replace an existing ``out_dir``.
    progress : bool
        Show a tqdm bar over galaxies.
    preview : bool
        Also save the preview PNGs (:func:`clusterage_utils.preview.mock_preview`) in ``out_dir/preview``.

    Raises
    ------
    FileExistsError, PermissionError, ValueError
        With the parameter, the value and the fix.
    """
    from tqdm.auto import tqdm

    cfg = cfg or MockSurveyConfig()
    out_dir = Path(out_dir)
    _check_output_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part", dir=out_dir.parent))
    tmp.chmod(0o755)
    t0 = time.perf_counter()
    n_total = 0
    try:
        for gid in tqdm(cfg.galaxies, desc="mock survey", unit="galaxy", disable=not progress):
            gm = simulate_galaxy(gid, cfg)
            folder = tmp / IMAGE_TARGETS.get(gid, gid.lower())
            folder.mkdir()
            _write_images(folder, gm, cfg)
            _write_catalogues(folder, gm, cfg)
            n_total += len(gm.catalogue)
        manifest = {"kind": "clusterage mock PHANGS-HST survey", "package_version": __version__,
                    "mock_version": MOCK_VERSION,
                    "config": cfg.to_dict(), "n_clusters": n_total,
                    "wall_time_s": round(time.perf_counter() - t0, 2)}
        (tmp / "mock_survey.json").write_text(json.dumps(manifest, indent=2))
        if preview:
            from .preview import mock_preview
            mock_preview(tmp, tmp / "preview")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def read_manifest(survey_dir: str | os.PathLike) -> dict | None:
    """The mock survey's manifest, or None if ``survey_dir`` is not a mock survey."""
    p = Path(survey_dir) / "mock_survey.json"
    return json.loads(p.read_text()) if p.exists() else None
