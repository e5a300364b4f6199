"""Chapter 02, feasibility (the study's Fig. 2): five-band CNNs on whole cutouts, full and restricted sample."""
from __future__ import annotations

from ...engine.experiments import Experiment, case_experiments
from .common import PageSettings

__all__ = ["FEASIBILITY_CASES", "TABLE_COLUMNS", "experiments", "figure_inputs", "study_numbers"]

FEASIBILITY_CASES = ("five_band_full_none", "five_band_restricted_none")
#: The columns of the chapter's table of scores.
TABLE_COLUMNS = ["case", "n_seeds", "n_train", "n_test", "train_scatter_mean", "val_scatter_mean", "test_scatter_mean",
                 "test_ci_lo", "test_ci_hi", "null_scatter_dex", "predictive_power_pct"]


def experiments(settings: PageSettings) -> list[Experiment]:
    """The chapter's trainings: :data:`FEASIBILITY_CASES`, every seed."""
    return case_experiments(FEASIBILITY_CASES, settings.profile)


def figure_inputs(ctx, scores) -> tuple[dict, dict]:
    """For :func:`~clusterage_utils.analysis.plotting.feasibility`, per sample (``full``, ``restricted``): the first
    seed's predictions and every seed's training history, from the store of ``ctx``."""
    preds, histories = {}, {}
    for sample, rows in scores.groupby("sample", sort=False):
        preds[sample] = ctx.store.predictions(rows["key"].iloc[0])
        histories[sample] = [ctx.store.history(k) for k in rows["key"]]
    return preds, histories


def study_numbers(summary, study) -> dict[str, float]:
    """For prose, per sample of :data:`FEASIBILITY_CASES`: this book's ``<sample>_scatter``, ``_lo``, ``_hi``,
    ``_null`` (dex) and ``_power`` (%), and the study's ``study_<sample>_scatter`` and ``_power``
    (``summary``: :func:`~clusterage_utils.metrics.summarise_seeds`; ``study``:
    :func:`~clusterage_utils.analysis.study.study_case_scores`)."""
    from ...engine.experiments import parse_case

    s, st = summary.set_index("case"), study.set_index("case")
    out = {}
    for case in FEASIBILITY_CASES:
        sample = parse_case(case).sample
        out |= {f"{sample}_scatter": s.loc[case, "test_scatter_mean"], f"{sample}_lo": s.loc[case, "test_ci_lo"],
                f"{sample}_hi": s.loc[case, "test_ci_hi"], f"{sample}_null": s.loc[case, "null_scatter_dex"],
                f"{sample}_power": s.loc[case, "predictive_power_pct"],
                f"study_{sample}_scatter": st.loc[case, "test_scatter_mean"],
                f"study_{sample}_power": st.loc[case, "predictive_power_pct"]}
    return out
