"""Photometric system, aperture photometry and SSP fitting: how reference ages are made.

The mock survey's reference ages are made the way PHANGS made theirs (Turner et al. 2021, simplified):
4-px-radius aperture photometry with a local sky annulus (photutils), then a chi-squared fit of the five fluxes
against a grid of single stellar populations (BC03, solar) x E(B-V) (0-1.5 mag, Milky-Way law, R_V = 3.1),
with the mass as a free linear scale and a 0.1 mag error floor.
"""
from __future__ import annotations

import functools

import numpy as np

from ..constants import APERTURE_RADIUS_PX
from .reference import ssp_table

__all__ = ["PIVOT_WAVELENGTH_AA", "AB_ZEROPOINT", "EXPOSURE_TIME_S", "SKY_RATE", "READ_NOISE_E", "PSF_FWHM_PX",
           "APERTURE_RADIUS_PX", "ANNULUS_PX", "ERROR_FLOOR_MAG", "extinction_coefficients",
           "distance_modulus", "ab_mag_to_rate", "rate_to_mjy", "model_rates", "SKY_SIGMA_CLIP",
           "aperture_photometry", "fit_ssp"]

#: Pivot wavelengths of the five bands (Angstrom), from the SSP table's provenance.
PIVOT_WAVELENGTH_AA = np.array([2709.9, 3354.8, 4326.1, 5308.2, 8029.5])

#: Approximate WFC3/UVIS AB zero points (mag for 1 e-/s), documented as approximate (STScI ISR 2017-14 era values).
AB_ZEROPOINT = np.array([24.17, 24.70, 24.98, 25.84, 25.10])

#: Exposure times (s) of the mock survey per band (typical PHANGS-HST depths).
EXPOSURE_TIME_S = np.array([2200.0, 1100.0, 1100.0, 670.0, 830.0])

#: Sky level after drizzling (e-/s/px), typical for 0.04" pixels; subtracted again after noise is drawn.
SKY_RATE = np.array([0.0015, 0.004, 0.015, 0.04, 0.04])

#: Read noise per drizzled pixel (e-).
READ_NOISE_E = 3.1

#: PSF FWHM (px) per band: V-band 0.067" = 1.7 px, a little broader in F275W and F814W.
PSF_FWHM_PX = np.array([1.95, 1.75, 1.7, 1.7, 1.8])

#: Sky annulus of the aperture photometry, inner and outer radius (px).
ANNULUS_PX = (7.0, 8.0)
ERROR_FLOOR_MAG = 0.1


@functools.cache
def extinction_coefficients() -> np.ndarray:
    """A_band / E(B-V) for the five bands: Cardelli, Clayton & Mathis (1989) with R_V = 3.1 at the pivots.

    Uses ``dust_extinction.parameter_averages.CCM89``.
    """
    import astropy.units as u
    from dust_extinction.parameter_averages import CCM89

    law = CCM89(Rv=3.1)
    return 3.1 * np.asarray(law(PIVOT_WAVELENGTH_AA * u.AA), float)


def distance_modulus(distance_mpc: float) -> float:
    """5 log10(d / 10 pc)."""
    return 5.0 * np.log10(distance_mpc * 1e6) - 5.0


def ab_mag_to_rate(mag_ab) -> np.ndarray:
    """AB magnitude to count rate (e-/s) per band (last axis = the five bands)."""
    return 10.0 ** (-0.4 * (np.asarray(mag_ab, float) - AB_ZEROPOINT))


def rate_to_mjy(rate) -> np.ndarray:
    """Count rate (e-/s, last axis bands) to flux density in mJy (AB: 3631 Jy at m = 0)."""
    return 3.631e6 * np.asarray(rate, float) * 10.0 ** (-0.4 * AB_ZEROPOINT)


def model_rates(log_age, mass_msun, ebv_mag, distance_mpc: float, nebular: bool = False) -> np.ndarray:
    """Count rates (e-/s) of single stellar populations, shape ``(..., 5)``.

    Parameters
    ----------
    log_age : array_like
        log10(age / yr).
    mass_msun : array_like
        Mass formed (Msun).
    ebv_mag : array_like
        Colour excess E(B-V) (mag), Milky-Way law.
    distance_mpc : float
        Distance (Mpc).
    nebular : bool
        Include nebular emission below 10 Myr.
    """
    from .reference import ssp_magnitudes

    mag = (ssp_magnitudes(log_age, nebular)
           - 2.5 * np.log10(np.asarray(mass_msun, float))[..., None]
           + distance_modulus(distance_mpc)
           + extinction_coefficients() * np.asarray(ebv_mag, float)[..., None])
    return ab_mag_to_rate(mag)


#: Sigma of the clipping of the local-sky annulus before its median is taken (astropy ``SigmaClip``, 10 iters).
SKY_SIGMA_CLIP = 3.0


def aperture_photometry(images: np.ndarray, x_px, y_px, radius_px: float = APERTURE_RADIUS_PX,
                        annulus_px: tuple[float, float] = ANNULUS_PX,
                        sky_sigma_clip: float | None = SKY_SIGMA_CLIP) -> tuple[np.ndarray, np.ndarray]:
    """Sky-subtracted aperture photometry in every band (photutils).

    Parameters
    ----------
    images : ndarray, shape (5, H, W)
        Mosaics in e-/s (NaN outside the footprint).
    x_px, y_px : array_like
        0-based pixel positions of the sources.
    radius_px : float
        Aperture radius (px); the study's 4 px.
    annulus_px : (float, float)
        Inner and outer radius of the local-sky annulus (px); its sigma-clipped median is subtracted.
    sky_sigma_clip : float or None
        Clip the annulus at this many sigma (astropy ``SigmaClip``, median centre, 10 iterations) before taking
        its median, so neighbouring sources do not bias the sky; ``None``: a plain median.

    Returns
    -------
    flux, err : ndarray, shape (N, 5)
        Count rates (e-/s) and their 1-sigma errors from Poisson noise of source and sky, and read noise.
    """
    from astropy.stats import SigmaClip
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture
    from photutils.aperture import aperture_photometry as _ap

    clip = SigmaClip(sigma=sky_sigma_clip, maxiters=10) if sky_sigma_clip else None
    pos = np.column_stack([np.asarray(x_px, float), np.asarray(y_px, float)])
    aper = CircularAperture(pos, r=radius_px)
    ann = CircularAnnulus(pos, r_in=annulus_px[0], r_out=annulus_px[1])
    area = np.pi * radius_px**2
    flux = np.empty((len(pos), len(images)))
    err = np.empty_like(flux)
    for b, img in enumerate(images):
        raw = np.asarray(_ap(img, aper)["aperture_sum"], float)
        bkg = np.asarray(ApertureStats(img, ann, sigma_clip=clip).median, float)
        bkg = np.nan_to_num(bkg)
        f = raw - bkg * area
        t = EXPOSURE_TIME_S[b] if b < len(EXPOSURE_TIME_S) else 1.0
        var_e = np.clip(f, 0, None) * t + area * (SKY_RATE[b] + np.clip(bkg, 0, None)) * t + area * READ_NOISE_E**2
        flux[:, b] = f
        err[:, b] = np.sqrt(var_e) / t
    return flux, err


@functools.lru_cache(maxsize=4)
def _fit_grid(distance_mpc: float, nebular: bool, ebv_step: float = 0.01, ebv_max: float = 1.5):
    tab = ssp_table(nebular)
    ages = tab["log_age"].to_numpy()
    ebvs = np.round(np.arange(0.0, ebv_max + 1e-9, ebv_step), 4)
    a, e = np.meshgrid(ages, ebvs, indexing="ij")
    rates = model_rates(a.ravel(), np.ones(a.size), e.ravel(), distance_mpc, nebular)  # per Msun formed
    return a.ravel(), e.ravel(), rates


def fit_ssp(flux, err, distance_mpc: float, nebular: bool = False, error_floor_mag: float = ERROR_FLOOR_MAG,
            chunk: int = 256) -> dict[str, np.ndarray]:
    """Chi-squared fit of five-band fluxes against the SSP grid x E(B-V), mass free (linear scale, >= 0).

    Parameters
    ----------
    flux, err : ndarray, shape (N, 5)
        Count rates and errors (e-/s).
    distance_mpc : float
        Distance used to turn the fitted scale into a mass.
    nebular : bool
        Fit with the nebular-emission SSP variant.
    error_floor_mag : float
        Fractional error floor added in quadrature (0.1 mag, as PHANGS).

    Returns
    -------
    dict
        ``log_age`` (grid value, log10 yr), ``mass_msun`` (mass formed, in-aperture), ``ebv_mag``, ``chi2``.
    """
    flux = np.asarray(flux, float)
    err = np.asarray(err, float)
    frac = 1.0 - 10.0 ** (-0.4 * error_floor_mag)
    sig2 = err**2 + (frac * np.abs(flux)) ** 2
    sig2 = np.where(sig2 > 0, sig2, np.inf)
    ga, ge, grid = _fit_grid(float(distance_mpc), bool(nebular))
    out = {k: np.empty(len(flux)) for k in ("log_age", "mass_msun", "ebv_mag", "chi2")}
    for s in range(0, len(flux), chunk):
        f = flux[s:s + chunk, None, :]
        w = 1.0 / sig2[s:s + chunk, None, :]
        m = grid[None, :, :]
        scale = np.clip((f * m * w).sum(-1) / (m * m * w).sum(-1), 0.0, None)
        chi2 = (((f - scale[..., None] * m) ** 2) * w).sum(-1)
        best = np.argmin(chi2, axis=1)
        idx = np.arange(len(best))
        out["log_age"][s:s + chunk] = ga[best]
        out["ebv_mag"][s:s + chunk] = ge[best]
        out["mass_msun"][s:s + chunk] = scale[idx, best]
        out["chi2"][s:s + chunk] = chi2[idx, best]
    return out
