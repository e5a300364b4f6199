"""The book's chapters: one module per chapter holds the experiments it shows and the analysis it runs; its
notebook only calls, shows and explains.

==========  ======================  ========================================================================
id          notebook                module
==========  ======================  ========================================================================
01          01_data_curation        (no training)
01b         01b_study_real_data     :mod:`clusterage_utils.analysis.study` (real data, no training)
02          02_feasibility          :mod:`.feasibility`
03, 04      03/04 inner, outer      :mod:`.masking`
05          05_case_summaries       :mod:`.cases`
06          06_distance_splits      :mod:`.distance`
07          07_truth_tests          :mod:`.truth_tests`
08          08_leakage_splits       :mod:`.leakage`
09          09_attribution          :mod:`.attribution_maps`
10          10_physical_masks       :mod:`.physical_masks`
11          11_significance         :mod:`.significance`
12          12_disagreements        :mod:`.disagreements`
13          13_normalisation        :mod:`.normalisation`
==========  ======================  ========================================================================

:func:`chapter_experiments` is the one switch from a chapter to its trainings, used by the build (to train
everything first, with one progress bar) and by the notebooks (which then find their results in the store).
"""
from __future__ import annotations

from ...engine.experiments import Experiment
from ...engine.profiles import Profile
from . import (
    attribution_maps,
    cases,
    disagreements,
    distance,
    feasibility,
    leakage,
    masking,
    normalisation,
    physical_masks,
    significance,
    truth_tests,
)
from .common import CHAPTER_PARAMETERS, PageSettings, page_settings, unique

__all__ = ["NOTEBOOKS", "DATA_CHAPTERS", "STUDY_CHAPTERS", "BEYOND_CHAPTERS", "chapter_id", "chapter_notebook",
           "chapter_experiments", "all_experiments", "CHAPTER_PARAMETERS", "PageSettings", "page_settings"]

#: Chapter notebooks in book order.
NOTEBOOKS = ("01_data_curation", "01b_study_real_data", "02_feasibility", "03_inner_masking", "04_outer_masking",
             "05_case_summaries", "06_distance_splits", "07_truth_tests", "08_leakage_splits", "09_attribution",
             "10_physical_masks", "11_significance", "12_disagreements", "13_normalisation")
DATA_CHAPTERS = NOTEBOOKS[:1]
STUDY_CHAPTERS = NOTEBOOKS[1:7]
BEYOND_CHAPTERS = NOTEBOOKS[7:]

_EXPERIMENTS = {"02": feasibility.experiments, "03": masking.inner_experiments, "04": masking.outer_experiments,
                "05": cases.experiments, "06": distance.experiments, "07": truth_tests.experiments,
                "08": leakage.experiments, "09": attribution_maps.experiments, "10": physical_masks.experiments,
                "11": significance.experiments, "12": disagreements.experiments, "13": normalisation.experiments}


def chapter_id(name: str) -> str:
    """``03``, ``03_inner_masking`` or ``01b_study_real_data`` -> the chapter id (``03``, ``01b``): a chapter's id or
    its full notebook name, matched exactly (``04_inner_masking`` names no chapter).

    Raises
    ------
    ValueError
        For an unknown chapter, listing the chapters.
    """
    for n in NOTEBOOKS:
        cid = n.split("_")[0]
        if str(name) in (cid, n):
            return cid
    raise ValueError(f"unknown chapter {name!r}; give a chapter's number or its full name: {', '.join(NOTEBOOKS)}")


def chapter_notebook(name: str) -> str:
    """The notebook name of a chapter id or name (``03`` -> ``03_inner_masking``)."""
    cid = chapter_id(name)
    return next(n for n in NOTEBOOKS if n.split("_")[0] == cid)


def chapter_experiments(chapter: str, settings: PageSettings | Profile) -> list[Experiment]:
    """The experiments a chapter shows on the book's data, without duplicates (chapter 07 also trains on surveys
    of other couplings: :func:`~clusterage_utils.analysis.chapters.truth_tests.truth_test_runs`).

    Parameters
    ----------
    chapter : str
        A chapter id or notebook name.
    settings : PageSettings or Profile
        The page's settings (:func:`~clusterage_utils.analysis.chapters.common.page_settings`); a profile alone stands
        for its own seeds, sweep grids and masking method.

    Raises
    ------
    ValueError
        For an unknown chapter.
    TypeError
        For a profile's name: resolve it once where it enters (:func:`~clusterage_utils.engine.profiles.get_profile`).
    """
    if not isinstance(settings, (PageSettings, Profile)):
        raise TypeError(f"chapter_experiments needs a Profile or PageSettings, got {settings!r}; pass "
                        f"get_profile({settings!r}) or page_settings({settings!r})")
    make = _EXPERIMENTS.get(chapter_id(chapter))
    if make is None:
        return []
    return unique(make(settings if isinstance(settings, PageSettings) else PageSettings(settings)))


def all_experiments(settings: PageSettings | Profile) -> list[Experiment]:
    """Every experiment of every chapter on the book's main data, without duplicates."""
    return unique([e for name in NOTEBOOKS for e in chapter_experiments(name, settings)])
