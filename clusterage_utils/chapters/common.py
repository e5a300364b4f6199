"""What the chapter modules share: a profile with other seeds, and de-duplication of experiment lists."""
from __future__ import annotations

import dataclasses

from ..experiments import Experiment
from ..profiles import Profile, get_profile

__all__ = ["resolve_profile", "unique", "for_extensions"]


def resolve_profile(profile: Profile | str, seeds=None, diameters=None, diameters_pc=None) -> Profile:
    """The profile (given or by name) with the notebook's ``seeds`` and sweep grids in place of its own."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    changes = {}
    if seeds is not None:
        changes["seeds"] = tuple(int(s) for s in seeds)
    if diameters is not None:
        changes["diameters_px"] = tuple(diameters)
    if diameters_pc is not None:
        changes["diameters_pc"] = tuple(diameters_pc)
    if not changes:
        return prof
    return dataclasses.replace(prof, training=dataclasses.replace(prof.training, **changes))


def for_extensions(profile: Profile | str, full: tuple, core: tuple) -> tuple:
    """``full`` for a profile that trains the chapters beyond the study in full, ``core`` for one with
    ``extensions="core"`` (:class:`~clusterage_utils.profiles.Profile`)."""
    return full if resolve_profile(profile).extensions == "full" else core


def unique(experiments: list[Experiment]) -> list[Experiment]:
    """Experiments without duplicates (same hash), in first-seen order."""
    return list({e.hash: e for e in experiments}.values())
