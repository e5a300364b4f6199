"""Chapter 05, the named cases (the study's Figs. 4-5): colour, cluster light and environment separated."""
from __future__ import annotations

import pandas as pd

from ...engine.experiments import Experiment, case_experiments, fig4_cases, fig5_cases
from .common import PageSettings

__all__ = ["ENVIRONMENT_CASE", "SHUFFLED_CASE", "experiments", "study_comparison", "environment_numbers"]

#: The environment alone (white light, centre masked) and the same input with shuffled labels.
ENVIRONMENT_CASE, SHUFFLED_CASE = "white_light_full_mask_centre_24", "white_light_full_mask_centre_24_shuffled"


def experiments(settings: PageSettings) -> list[Experiment]:
    """The chapter's trainings: every case of the study's Fig. 5 (which includes Fig. 4's), full and restricted
    sample, each seed."""
    return case_experiments(fig5_cases(), settings.profile)


def study_comparison(summary: pd.DataFrame, study_scores: pd.DataFrame, cases=None) -> pd.DataFrame:
    """This book's cases beside the study's released runs (real data): mean test scatter with its 68 %
    interval, null and predictive power of each, per case.

    ``study_scores``: :func:`~clusterage_utils.analysis.study.study_case_scores`.
    """
    cases = list(cases or fig4_cases())
    mine = summary.set_index("case").reindex(cases)[["test_scatter_mean", "test_ci_lo", "test_ci_hi",
                                                      "null_scatter_dex", "predictive_power_pct"]]
    theirs = study_scores.set_index("case").reindex(cases)[["test_scatter_mean", "test_ci_lo", "test_ci_hi",
                                                            "null_scatter_dex", "predictive_power_pct"]]
    out = pd.concat({"mock survey (this book)": mine, "real data (study's released runs)": theirs}, axis=1)
    out.index.name = "case"
    return out


def environment_numbers(summary: pd.DataFrame, study_scores: pd.DataFrame) -> dict[str, float]:
    """For prose: :data:`ENVIRONMENT_CASE`'s mask diameter (``env_d``, px), its test scatter with its interval and
    null (``env_scatter``, ``env_lo``, ``env_hi``, ``env_null``, dex), :data:`SHUFFLED_CASE`'s
    (``shuffled_scatter``, ``shuffled_null``) and the study's on real data (``study_env_scatter``,
    ``study_env_null``)."""
    from ...engine.experiments import parse_case

    s, st = summary.set_index("case"), study_scores.set_index("case")
    e, sh = ENVIRONMENT_CASE, SHUFFLED_CASE
    return {"env_d": parse_case(e).diameter, "env_scatter": s.loc[e, "test_scatter_mean"],
            "env_lo": s.loc[e, "test_ci_lo"], "env_hi": s.loc[e, "test_ci_hi"],
            "env_null": s.loc[e, "null_scatter_dex"],
            "shuffled_scatter": s.loc[sh, "test_scatter_mean"], "shuffled_null": s.loc[sh, "null_scatter_dex"],
            "study_env_scatter": st.loc[e, "test_scatter_mean"], "study_env_null": st.loc[e, "null_scatter_dex"]}
