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
        version 1; see :func:`~clusterage_utils.survey.photometry.aperture_photometry`).
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


_STREAMS = {"age": 1, "env_age": 2, "mass": 3, "place": 4, "env": 5, "disc": 6, "stars": 7, "noise": 8, "shape": 9}

def _rng(cfg_seed: int, galaxy_id: str, stream: str) -> np.random.Generator:
    """Independent generator per (seed, galaxy, stream): a galaxy's content does not depend on the subset chosen,
    and environment draws do not depend on true ages."""
    gidx = list(galaxies().index).index(galaxy_id)
    return np.random.default_rng([cfg_seed, gidx, _STREAMS[stream]])
