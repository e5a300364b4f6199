"""Chapter 06, near and far galaxies (the study's Figs. 6-7): the inner-masking sweep retrained on each
distance group of Table 1, each against its own null predictor."""
from __future__ import annotations

from ..experiments import Experiment
from ..profiles import Profile
from .common import unique
from .masking import sweep_experiments

__all__ = ["GROUPS", "DISTANCE_PANELS", "experiments"]

GROUPS = ("near", "far")
#: Fig. 7 shows five bands and white light, full sample.
DISTANCE_PANELS = (("five_band", "full"), ("white_light", "full"))


def experiments(profile: Profile | str, diameters=None, seeds=None, masking=None, panels=DISTANCE_PANELS, **_
                ) -> list[Experiment]:
    """The inner-masking sweep of ``panels`` for each group in :data:`GROUPS`."""
    return unique([e for g in GROUPS for e in sweep_experiments("mask_centre", profile, diameters, seeds, masking,
                                                                panels=panels, group=g)])
