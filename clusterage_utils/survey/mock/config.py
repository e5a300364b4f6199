"""The mock survey's parameters, constants and random streams."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...constants import CUTOUT_SIZE_PX
from ..reference import check_galaxies, galaxies

__all__ = ["CUTOUT_SIZE_PX", "MASS_RANGE_MSUN", "EFF_GAMMA", "REFF_MEDIAN_PC", "MOCK_VERSION", "MockSurveyConfig"]

MASS_RANGE_MSUN = (1e3, 1e6)

EFF_GAMMA = 2.5

REFF_MEDIAN_PC = 2.5

#: Bumped when the mock's physics or its reference ages change, so stale default surveys are remade:
#: 2 = sigma-clipped local sky in the reference-age photometry; 3 = calibrated physics (clusters leave their birth
#: region, wider and not quite coeval complexes: ``benchmarks/bench_mock_calibration.py``).
MOCK_VERSION = 3


@dataclass(frozen=True)
class MockSurveyConfig:
    """Parameters of a mock survey.

    The physical parameters' defaults were calibrated on three of the study's results (five bands, full sample:
    unmasked, centre hidden and centre kept, 12 px) by ``benchmarks/bench_mock_calibration.py``: natal retention,
    complex size (the grid) and the complex members' age spread (fixed at the literature's central value); the
    others keep the mock's version-2 values. The book's data-modes page shows the grid and what the calibrated
    mock predicts of the study's other results.

    Attributes
    ----------
    seed : int
        Random seed; the same seed and parameters give identical files.
    fraction : float
        Fraction of Table 1's N per galaxy, in (0, 1].
    environment_coupling : float
        Probability that a cluster's environment is drawn from its own age, in [0, 1] (times the natal
        retention below); otherwise from an independent draw of the galaxy's ages. At 0 the environment carries no
        age information (the truth tests' knob).
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
        version 1; see :func:`~clusterage_utils.survey.photometry.aperture_photometry`).
    natal_retention_myr : float or None
        e-folding time (Myr) of the probability that a cluster's surroundings are still its own birth region:
        clusters drift from their birth sites and their complexes disperse within a few tens of Myr (Grasha et al.
        2017, ApJ 840, 113: clustering gone after ~40-60 Myr), after which they are seen against an unrelated
        patch of the disc. None: surroundings stay the cluster's own at every age (the mock's version 2).
    complex_members : float
        Mean number of uncatalogued members of a newborn cluster's star-forming complex (the neighbours channel;
        :func:`~clusterage_utils.survey.mock.physics.draw_environment`).
    complex_size_pc : float
        Radius (pc, Gaussian sigma) of a newborn cluster's complex, growing by up to 150 pc as it disperses over
        ~100 Myr: young star groups around clusters span tens of pc (OB associations ~10-100 pc, Gouliermis 2018,
        PASP 130, 072001; hierarchical complexes up to a few hundred pc, Grasha et al. 2017).
    complex_decay_myr : float
        e-folding time (Myr) of the number of complex members with the environment age: young clusters sit in
        hierarchical complexes whose clustering fades within ~40-60 Myr (Grasha et al. 2017, ApJ 840, 113).
    complex_age_spread_myr : float
        Spread (Myr, 1 sigma) of a complex member's age about the environment age at 100 pc from the cluster,
        growing as separation^0.5: star formation in a region lasts longer the larger it is (Efremov & Elmegreen
        1998; Grasha et al. 2017b, ApJ 842, 25: age difference ~ separation^0.25-0.6; de la Fuente Marcos & de la
        Fuente Marcos 2009: 16 Myr between Milky Way cluster pairs closer than 30 pc). 0: members coeval within
        0.1 dex (the mock's version 2).
    natal_dust_lanes : float
        Mean number of natal dust filaments of a newborn cluster (the gas-and-dust channel).
    natal_dust_myr : float
        e-folding time (Myr) of the natal filaments with the environment age: clusters clear their natal gas
        within a few Myr (Hannon et al. 2022, MNRAS 512, 1294: Halpha gone after ~5 Myr) and leave their
        molecular clouds within ~10-20 Myr (Grasha et al. 2018, 2019).
    ambient_dust_lanes : float
        Mean number of filaments unrelated to the cluster's age (the galaxy's own dust lanes), per cluster.
    diffuse_young_mass_msun : float
        Mass (Msun) of the unresolved young stars spread around a newborn cluster (the diffuse-light channel), of
        the environment age, fading with it over ~100 Myr. Most young stars form outside bound clusters (cluster
        formation efficiency ~5-30 %, Adamo et al. 2020, Space Sci. Rev. 216, 69).
    reff_growth_per_dex : float
        Fractional growth of a cluster's effective radius per dex of age (its own light's size channel): clusters
        expand after gas expulsion and with age (Ryon et al. 2017, ApJ 841, 92: a weak trend; Brown & Gnedin 2021,
        MNRAS 508, 5935).
clusterage_utils/mock/config.py
    """

    seed: int = 0
    fraction: float = 0.25
    environment_coupling: float = 1.0
    galaxies: tuple[str, ...] = tuple(galaxies().index)
    nebular: bool = False
    area_per_cluster_px: float = 100.0**2
    detection_limit_mag: float = 24.5
    sky_sigma_clip: float | None = 3.0
    natal_retention_myr: float | None = 60.0
    complex_members: float = 8.0
    complex_size_pc: float = 60.0
    complex_decay_myr: float = 30.0
    complex_age_spread_myr: float = 10.0
    natal_dust_lanes: float = 2.5
    natal_dust_myr: float = 20.0
    ambient_dust_lanes: float = 0.1
    diffuse_young_mass_msun: float = 1e5
    reff_growth_per_dex: float = 0.08

    def __post_init__(self):
        if not (isinstance(self.fraction, (int, float)) and 0 < self.fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if not (isinstance(self.environment_coupling, (int, float)) and 0 <= self.environment_coupling <= 1):
            raise ValueError(f"environment_coupling must be in [0, 1], got {self.environment_coupling!r}")
        for name in ("complex_members", "complex_age_spread_myr", "natal_dust_lanes", "ambient_dust_lanes",
                     "diffuse_young_mass_msun", "reff_growth_per_dex"):
            if not (isinstance(getattr(self, name), (int, float)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        for name in ("complex_decay_myr", "natal_dust_myr", "complex_size_pc"):
            if not (isinstance(getattr(self, name), (int, float)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a number > 0, got {getattr(self, name)!r}")
        if self.natal_retention_myr is not None and not (isinstance(self.natal_retention_myr, (int, float))
                                                         and self.natal_retention_myr > 0):
            raise ValueError(f"natal_retention_myr must be > 0 (Myr) or None, got {self.natal_retention_myr!r}")
        object.__setattr__(self, "galaxies", tuple(check_galaxies(self.galaxies)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_STREAMS = {"age": 1, "env_age": 2, "mass": 3, "place": 4, "env": 5, "disc": 6, "stars": 7, "noise": 8, "shape": 9}

def _rng(cfg_seed: int, galaxy_id: str, stream: str) -> np.random.Generator:
    """Independent generator per (seed, galaxy, stream): a galaxy's content does not depend on the subset chosen,
    and environment draws do not depend on true ages."""
    gidx = list(galaxies().index).index(galaxy_id)
    return np.random.default_rng([cfg_seed, gidx, _STREAMS[stream]])
