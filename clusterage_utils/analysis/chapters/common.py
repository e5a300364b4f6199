"""What the chapter modules share: a page's settings bound once (:class:`PageSettings`), the profile's choice of
extensions, and de-duplication of experiment lists."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...engine.experiments import MASKINGS, Experiment
from ...engine.profiles import Profile, get_profile
from ...sweeps import MaskKind, Sweep

__all__ = ["PageSettings", "page_settings", "CHAPTER_PARAMETERS", "unique", "for_extensions"]

#: Notebook parameters that change which experiments a chapter trains and shows (bound by :func:`page_settings`).
CHAPTER_PARAMETERS = ("seeds", "diameters", "diameters_pc", "masking")


@dataclass(frozen=True)
class PageSettings:
    """What a chapter trains and shows, bound once from a page's parameters (:func:`page_settings`).

    Attributes
    ----------
    profile : Profile
        The profile, with the page's seeds in place of its own (seeds are in no experiment's hash).
    masking : {"retrain", "amortised"}, optional
        How the sweeps are made; None (the default) is replaced by the profile's ``sweep_masking``.
    diameters : tuple of float, optional
        The pixel diameters a sweep shows; None: the profile's grid (``diameters_px``). With amortised masking
        they only select where the networks, trained on the profile's grid, are evaluated.
    diameters_pc : tuple of float, optional
        The same for the parsec sweeps (``diameters_pc``).

    Raises
    ------
    ValueError
        For an unknown masking method.
    """

    profile: Profile
    masking: str | None = None
    diameters: tuple[float, ...] | None = None
    diameters_pc: tuple[float, ...] | None = None

    def __post_init__(self):
        masking = self.masking or self.profile.sweep_masking
        if masking not in MASKINGS:
            raise ValueError(f"masking must be one of {MASKINGS}, got {masking!r}")
        object.__setattr__(self, "masking", masking)
        for name in ("diameters", "diameters_pc"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def amortised(self) -> bool:
        """Whether the sweeps are amortised (one network per panel and seed, evaluated at every diameter)."""
        return self.masking == "amortised"

    def sweep(self, kind: MaskKind, unit: str = "px") -> Sweep:
        """The sweep of ``kind`` in ``unit`` over the page's diameters (default: the profile's grid)."""
        diameters = self.diameters_pc if unit == "pc" else self.diameters
        return Sweep(kind, diameters, unit).on_grid_of(self.profile.training)


def page_settings(profile: Profile | str, seeds=None, diameters=None, diameters_pc=None, masking: str | None = None
                  ) -> PageSettings:
    """Bind a page's parameters once: the profile (by name or given) with the page's ``seeds``, the sweeps'
    ``masking`` method and the ``diameters`` (px) and ``diameters_pc`` they show (None: the profile's)."""
    prof = get_profile(profile)
    if seeds is not None:
        prof = dataclasses.replace(prof, training=dataclasses.replace(prof.training,
                                                                      seeds=tuple(int(s) for s in seeds)))
    return PageSettings(prof, masking, diameters, diameters_pc)


def for_extensions(profile: Profile, full: tuple, core: tuple) -> tuple:
    """``full`` for a profile that trains the chapters beyond the study in full, ``core`` for one with
    ``extensions="core"`` (:class:`~clusterage_utils.engine.profiles.Profile`)."""
    return full if profile.extensions == "full" else core


def unique(experiments: list[Experiment]) -> list[Experiment]:
    """Experiments without duplicates (same hash), in first-seen order."""
    return list({e.hash: e for e in experiments}.values())
