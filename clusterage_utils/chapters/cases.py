"""Chapter 05, the named cases (the study's Figs. 4-5): colour, cluster light and environment separated."""
from __future__ import annotations

import pandas as pd

from ..experiments import Experiment, case_experiments, fig4_cases, fig5_cases
from .common import PageSettings

__all__ = ["experiments", "study_comparison"]


def experiments(settings: PageSettings) -> list[Experiment]:
    """The chapter's trainings: every case of the study's Fig. 5 (which includes Fig. 4's), full and restricted
    sample, each seed."""
    return case_experiments(fig5_cases(), settings.profile)


def study_comparison(summary: pd.DataFrame, study_scores: pd.DataFrame, cases=None) -> pd.DataFrame:
    """This book's cases beside the study's released runs (real data): mean test scatter with its 68 %
    interval, null and predictive power of each, per case.

    ``study_scores``: :func:`~clusterage_utils.study.study_case_scores`.
    """
    cases = list(cases or fig4_cases())
    mine = summary.set_index("case").reindex(cases)[["test_scatter_mean", "test_ci_lo", "test_ci_hi",
                                                      "null_scatter_dex", "predictive_power_pct"]]
    theirs = study_scores.set_index("case").reindex(cases)[["test_scatter_mean", "test_ci_lo", "test_ci_hi",
                                                            "null_scatter_dex", "predictive_power_pct"]]
    out = pd.concat({"mock survey (this book)": mine, "real data (study's released runs)": theirs}, axis=1)
    out.index.name = "case"
    return out
