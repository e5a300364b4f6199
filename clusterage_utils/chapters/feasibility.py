"""Chapter 02, feasibility (the study's Fig. 2): five-band CNNs on whole cutouts, full and restricted sample."""
from __future__ import annotations

from ..experiments import Experiment, case_experiments
from .common import PageSettings

__all__ = ["FEASIBILITY_CASES", "experiments"]

FEASIBILITY_CASES = ("five_band_full_none", "five_band_restricted_none")


def experiments(settings: PageSettings) -> list[Experiment]:
    """The chapter's trainings: :data:`FEASIBILITY_CASES`, every seed."""
    return case_experiments(FEASIBILITY_CASES, settings.profile)
