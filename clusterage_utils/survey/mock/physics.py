"""The mock's physics: true ages, dust, detected masses, and the age-dependent environment layers.

Every law is stated in its function's docstring with its source; the environment layers depend on a cluster's
*environment age* only, which makes ``environment_coupling`` an exact knob.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import photometry as ph
from ..reference import age_distribution
from .config import MASS_RANGE_MSUN, MockSurveyConfig

__all__ = ["draw_log_ages", "mean_ebv_mag", "draw_ebv", "detection_mass_limit", "draw_detected_masses",
           "Environment", "draw_environment", "dust_covering"]


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

def draw_environment(env_log_age, rng: np.random.Generator, laws: MockSurveyConfig | None = None) -> Environment:
    """Draw the age-dependent environment layers (complexes, dust lanes, diffuse young light).

    Only ``env_log_age`` enters: this is what makes ``environment_coupling`` an exact knob.

    Layer laws (t = environment age in Myr; the symbols are :class:`~clusterage_utils.survey.mock.MockSurveyConfig`
    fields of ``laws``, by default the mock's calibrated values):

    - complex members: N ~ Poisson(0.5 + ``complex_members`` exp(-t / ``complex_decay_myr``)), masses M^-2 on
      [200, 2e4] Msun, Gaussian offsets of sigma ``complex_size_pc`` + 150 (1 - exp(-t / 100 Myr)) pc
      (dispersal); ages 0.1 dex
      about the environment age, plus a spread of ``complex_age_spread_myr`` x (r / 100 pc)^0.5 Myr at separation
      r (star formation lasts longer in larger regions), never younger than 1 Myr;
    - diffuse young light: mass ``diffuse_young_mass_msun`` exp(-t / 100 Myr) Msun of the environment's age,
      Gaussian of sigma 40 + 60 min(1, t / 100 Myr) pc;
    - dust lanes: N ~ Poisson(``ambient_dust_lanes`` + ``natal_dust_lanes`` exp(-t / ``natal_dust_myr``))
      filaments (random walks of 60-250 pc starting within 60 pc of the cluster, 15-60 pc wide), peak E(B-V)
      U(0.1, 0.5) x (0.3 + 0.7 exp(-t / 50 Myr)) mag.
    """
    laws = laws or MockSurveyConfig()
    la = np.asarray(env_log_age, float)
    n = len(la)
    t = 10.0 ** (la - 6.0)
    # complexes
    nnb = rng.poisson(0.5 + laws.complex_members * np.exp(-t / laws.complex_decay_myr))
    owner = np.repeat(np.arange(n), nnb)
    sig = (laws.complex_size_pc + 150.0 * (1.0 - np.exp(-t / 100.0)))[owner]
    dx, dy = rng.normal(0, 1, (2, owner.size)) * sig
    nb_age = np.clip(la[owner] + rng.normal(0, 0.1, owner.size), 6.0, 10.1)
    u = rng.random(owner.size)
    lo, hi = 200.0, 2e4
    nb_mass = 1.0 / (1.0 / lo - u * (1.0 / lo - 1.0 / hi))
    nb_ebv_draw = rng.gamma(2.0, 1.0, owner.size)
    # diffuse young light
    dmass = laws.diffuse_young_mass_msun * np.exp(-t / 100.0)
    dsig = 40.0 + 60.0 * np.minimum(1.0, t / 100.0)
    lanes = _draw_lanes(t, laws, rng)
    if laws.complex_age_spread_myr > 0 and owner.size:   # drawn last: spread 0 leaves the other draws unchanged
        spread = laws.complex_age_spread_myr * np.sqrt(np.hypot(dx, dy) / 100.0)
        nb_t = np.maximum(10.0 ** (nb_age - 6.0) + rng.normal(0, 1, owner.size) * spread, 1.0)
        nb_age = np.clip(np.log10(nb_t) + 6.0, 6.0, 10.1)
    nb_ebv = np.clip(nb_ebv_draw * mean_ebv_mag(nb_age) / 2.0, 0, 1.5)
    return Environment(
        n_neighbours=nnb, nb_owner=owner, nb_dx_pc=dx, nb_dy_pc=dy, nb_log_age=nb_age, nb_mass_msun=nb_mass,
        nb_ebv_mag=nb_ebv, diffuse_mass_msun=dmass, diffuse_sigma_pc=dsig, **lanes)


def _draw_lanes(t: np.ndarray, laws, rng: np.random.Generator) -> dict:
    """Dust filaments of each cluster (see :func:`draw_environment`): random walks of 2-pc steps."""
    n = len(t)
    nl = rng.poisson(laws.ambient_dust_lanes + laws.natal_dust_lanes * np.exp(-t / laws.natal_dust_myr))
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
    if not nlanes:
        return {"n_lanes": nl, "lane_ebv_mag": np.zeros(0), "lane_owner": np.zeros(0, int),
                "lane_x_pc": np.zeros(0), "lane_y_pc": np.zeros(0), "lane_width_pc": np.zeros(0)}
    # cumulative heading per lane (random walk in direction), then positions
    start = np.concatenate([[0], np.cumsum(nsteps)[:-1]])
    cturn = np.cumsum(turn)
    cturn -= np.repeat(cturn[start] - turn[start], nsteps)
    ang = heading[lane_id] + cturn
    sx, sy = np.cos(ang) * step_pc, np.sin(ang) * step_pc
    cx, cy = np.cumsum(sx), np.cumsum(sy)
    cx -= np.repeat(cx[start] - sx[start], nsteps)
    cy -= np.repeat(cy[start] - sy[start], nsteps)
    return {"n_lanes": nl, "lane_ebv_mag": lane_ebv[lane_id], "lane_owner": lane_cluster[lane_id],
            "lane_x_pc": r0[lane_id] * np.cos(phi0[lane_id]) + cx,
            "lane_y_pc": r0[lane_id] * np.sin(phi0[lane_id]) + cy, "lane_width_pc": width[lane_id]}

def dust_covering(env: Environment, n: int, radius_pc: float, threshold_mag: float = 0.1) -> np.ndarray:
    """Fraction of lane points of each cluster's own lanes within ``radius_pc`` weighted by thickness: a simple
    per-cluster "dust covering" statistic of the environment (0 when it has no lanes)."""
    r = np.hypot(env.lane_x_pc, env.lane_y_pc)
    inside = (r < radius_pc) & (env.lane_ebv_mag > threshold_mag)
    w = env.lane_width_pc * 2.0 * inside  # area covered per 2-pc step
    cov = np.bincount(env.lane_owner, weights=w, minlength=n) / (np.pi * radius_pc**2)
    return np.clip(cov, 0.0, 1.0)
