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
  young complexes whose members are nearly coeval (an age spread growing with separation, Efremov & Elmegreen
  1998) and that disperse with age (60 -> ~210 pc over ~100 Myr), dust lanes (filamentary screens, frequent around
  young complexes), and diffuse blue light of unresolved young stars fading over ~100 Myr. Nuisance layers that
  carry no age information: smooth old disc light and resolved old field stars, both uniform in age.
- **Birth region or not**: a cluster's surroundings are its own birth region with probability
  exp(-age / ``natal_retention_myr``) (clusters drift away and complexes disperse within a few tens of Myr,
  Grasha et al. 2017), else an unrelated patch of the galaxy (an independent environment age).
- **The knob** ``environment_coupling`` c in [0, 1] multiplies that probability: at c = 0 every environment age is
  an independent draw from the galaxy's age distribution. Catalogue positions are uniform (no age-dependent
  clustering of catalogued clusters), so at c = 0 the environment carries no age information.
- **Calibrated**: the physical parameters' defaults (:class:`MockSurveyConfig`) were chosen on three of the
  study's results (five bands, full sample; ``benchmarks/bench_mock_calibration.py``), see the data-modes page.
- **Noise**: Poisson on source + sky (e-) for each band's exposure, Gaussian read noise, approximate AB zero points.

Reference ages are then measured like the real ones (``photometry.aperture_photometry`` + ``photometry.fit_ssp``).

Homes: :mod:`.config` (parameters, random streams), :mod:`.physics` (ages, dust, masses, environment layers),
:mod:`.rendering` (profiles, screens, PSF, noise, WCS), :mod:`.galaxy` (one galaxy end to end), :mod:`.writing`
(the products on disk).
"""
from .config import CUTOUT_SIZE_PX, EFF_GAMMA, MASS_RANGE_MSUN, MOCK_VERSION, REFF_MEDIAN_PC, MockSurveyConfig
from .galaxy import GalaxyMock, simulate_galaxy
from .physics import (
                      Environment,
                      detection_mass_limit,
                      draw_detected_masses,
                      draw_ebv,
                      draw_environment,
                      draw_log_ages,
                      dust_covering,
                      mean_ebv_mag,
)
from .rendering import footprint_mask, make_wcs, mosaic_shape
from .writing import make_mock_survey, read_manifest

__all__ = ["CUTOUT_SIZE_PX", "MASS_RANGE_MSUN", "EFF_GAMMA", "REFF_MEDIAN_PC", "MOCK_VERSION", "MockSurveyConfig",
           "draw_log_ages", "mean_ebv_mag", "draw_ebv", "detection_mass_limit", "draw_detected_masses",
           "Environment", "draw_environment", "dust_covering", "mosaic_shape", "footprint_mask", "make_wcs",
           "GalaxyMock", "simulate_galaxy", "make_mock_survey", "read_manifest"]
