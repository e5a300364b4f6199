"""Rendering the mock mosaics: cluster and neighbour profiles, dust screens, disc light, field stars, PSF, noise,
the footprint and the WCS."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...constants import PIXEL_SCALE_ARCSEC
from .. import photometry as ph
from ..reference import GALAXY_CENTRES_DEG
from .config import CUTOUT_SIZE_PX, EFF_GAMMA, REFF_MEDIAN_PC, _rng
from .physics import Environment

__all__ = ["mosaic_shape", "footprint_mask", "make_wcs", "render"]


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


def _dust_screen(shape, xs, ys, env: Environment, pc_px: float) -> np.ndarray:
    """The dust-lane screen E(B-V)(x, y): lane points splatted and blurred to the median lane width."""
    ny, nx = shape
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
    return screen


def _disc_light(img: np.ndarray, rng: np.random.Generator, pc_px: float) -> None:
    """Layer 1 (nuisance): smooth old disc light, an exponential gradient with an arm-like modulation."""
    _, ny, nx = img.shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    phi = rng.uniform(0, 2 * np.pi)
    u = (xx - nx / 2) * np.cos(phi) + (yy - ny / 2) * np.sin(phi)
    v = -(xx - nx / 2) * np.sin(phi) + (yy - ny / 2) * np.cos(phi)
    period_px = rng.uniform(400, 900)
    scale_length_px = 2000.0 / pc_px  # 2-kpc exponential disc seen across the mosaic
    sb = np.exp(-u / scale_length_px) * (1.0 + 0.35 * np.sin(2 * np.pi * v / period_px + rng.uniform(0, 6.3)))
    v_rate_px = 10 ** (-0.4 * (20.8 - 2.5 * np.log10(PIXEL_SCALE_ARCSEC**2) - ph.AB_ZEROPOINT[3]))
    old = ph.model_rates(np.array([9.8]), np.array([1.0]), np.array([0.0]), 10.0)[0]
    disc_colour = old / old[3]
    for b in range(5):
        img[b] += sb * v_rate_px * disc_colour[b]


def _field_stars(img: np.ndarray, rng: np.random.Generator, screen, ext, dist: float) -> None:
    """Layer 5 (nuisance): resolved old field stars, uniform, luminosity function ~ 10^(0.3 M_V), M_V in [-5, -1]."""
    _, ny, nx = img.shape
    nstar = rng.poisson(2e-3 * ny * nx)
    sx, sy = rng.uniform(0, nx - 1, nstar), rng.uniform(0, ny - 1, nstar)
    mv = -1.0 - np.log10(1 + rng.random(nstar) * (10 ** 1.2 - 1)) / 0.3
    star_col = ph.model_rates(np.array([10.0]), np.array([1.0]), np.array([0.0]), 10.0)[0]
    star_col = star_col / star_col[3] * np.array([0.7, 0.8, 0.9, 1.0, 1.3])
    srate = 10 ** (-0.4 * (mv + ph.distance_modulus(dist) - ph.AB_ZEROPOINT[3]))[:, None] * star_col[None, :]
    srate *= _transmission(screen, sx, sy, ext)
    _point_add(img, sx, sy, srate)


def _observe(img: np.ndarray, rng: np.random.Generator, shape) -> np.ndarray:
    """The PSF of each band, then Poisson noise on source + sky and read noise; NaN outside the footprint."""
    for b in range(5):
        img[b] = ndimage.gaussian_filter(img[b], ph.PSF_FWHM_PX[b] / 2.3548)
    out = np.empty(img.shape, np.float32)
    for b in range(5):
        t = ph.EXPOSURE_TIME_S[b]
        lam = np.clip(img[b], 0, None) * t + ph.SKY_RATE[b] * t
        counts = rng.poisson(lam).astype(float) - ph.SKY_RATE[b] * t + rng.normal(0, ph.READ_NOISE_E, lam.shape)
        out[b] = counts / t
    out[:, ~footprint_mask(shape)] = np.nan
    return out


def render(galaxy_id, cfg, shape, xs, ys, env_age, reff_pc, env: Environment, pc_px, dist, rates):
    """Render the five noisy mosaics (e-/s, NaN outside the footprint) and return them with the dust screen."""
    ny, nx = shape
    img = np.zeros((5, ny, nx))
    ext = ph.extinction_coefficients()
    screen = _dust_screen(shape, xs, ys, env, pc_px)
    _disc_light(img, _rng(cfg.seed, galaxy_id, "disc"), pc_px)
    # 4. diffuse light of unresolved young stars around young complexes (environment age colours)
    drates = ph.model_rates(env_age, np.ones(len(xs)), np.full(len(xs), 0.1), dist) * env.diffuse_mass_msun[:, None]
    _add_gaussians(img, xs, ys, env.diffuse_sigma_pc / pc_px, drates)
    # dust screen dims everything behind it (disc and diffuse light)
    img *= 10.0 ** (-0.4 * ext[:, None, None] * screen[None])
    _field_stars(img, _rng(cfg.seed, galaxy_id, "stars"), screen, ext, dist)
    # 2. complex members (uncatalogued neighbours)
    nbx = xs[env.nb_owner] + env.nb_dx_pc / pc_px
    nby = ys[env.nb_owner] + env.nb_dy_pc / pc_px
    nbr = ph.model_rates(env.nb_log_age, env.nb_mass_msun, env.nb_ebv_mag, dist) * _transmission(screen, nbx, nby, ext)
    _stamp_add(img, nbx, nby, REFF_MEDIAN_PC / np.sqrt(15.0) / pc_px * np.ones(len(nbx)), nbr)
    # the catalogued clusters themselves (EFF core radius a = r_eff / sqrt(15) for gamma = 2.5)
    _stamp_add(img, xs, ys, reff_pc / np.sqrt(15.0) / pc_px, rates * _transmission(screen, xs, ys, ext))
    return _observe(img, _rng(cfg.seed, galaxy_id, "noise"), shape), screen


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
