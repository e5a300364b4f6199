"""Chapter 06, near and far galaxies (the study's Figs. 6-7): the inner-masking sweep retrained on each
distance group of Table 1, each against its own null predictor."""
from __future__ import annotations

import pandas as pd

from ...engine.experiments import Experiment
from ...sweeps import MaskKind
from .common import PageSettings, unique
from .masking import SweepResult, sweep_experiments

__all__ = ["GROUPS", "DISTANCE_PANELS", "experiments", "group_evaluation", "sweep_result", "group_table",
           "group_health_box", "unmasked_numbers"]

GROUPS = ("near", "far")
#: Fig. 7 shows five bands and white light, full sample.
DISTANCE_PANELS = (("five_band", "full"), ("white_light", "full"))


def experiments(settings: PageSettings, panels=DISTANCE_PANELS) -> list[Experiment]:
    """The inner-masking sweep of ``panels`` for each group in :data:`GROUPS`."""
    return unique([e for g in GROUPS
                   for e in sweep_experiments(MaskKind.MASK_CENTRE, settings, panels=panels, group=g)])


def group_evaluation(exps: list[Experiment]) -> dict[str, float | int | str]:
    """How a set of distance-group experiments is scored, as numbers and one phrase for a page's prose.

    Parameters
    ----------
    exps : list of Experiment
        The groups' experiments (:func:`experiments`); they must share one evaluation.

    Returns
    -------
    dict
        ``folds``, ``collapse_spread`` and ``evaluation``: "K-fold evaluation (...)" or "one train / validation /
        test split, as the study did".

    Raises
    ------
    ValueError
        For no experiments, or experiments scored in different ways.
    """
    ways = {(e.training.folds, e.training.collapse_spread) for e in exps}
    if len(ways) != 1:
        raise ValueError(f"the groups' experiments must share one evaluation (folds, collapse_spread); got "
                         f"{sorted(ways) or 'no experiments'}")
    (folds, spread), = ways
    if folds > 1:
        phrase = (f"{folds}-fold evaluation ({folds} networks per seed, each trained without one part of the group "
                  f"and predicting it, so that every cluster is scored once by a network that never saw it; "
                  f"networks whose validation predictions spread less than {spread:g} x the labels' are trained "
                  f"again)")
    else:
        phrase = "one train / validation / test split, as the study did"
    return {"folds": int(folds), "collapse_spread": float(spread), "evaluation": phrase}


def sweep_result(ctx) -> SweepResult:
    """The chapter's sweeps, trained where the store lacks them, and scored (``ctx``: a page context)."""
    exps = experiments(ctx.settings)
    scores = ctx.run(exps)
    return SweepResult(ctx.settings.sweep(MaskKind.MASK_CENTRE), ctx.settings, exps, scores, ctx.summary(scores))


def group_table(catalogue: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float | str]]:
    """Per distance group of the catalogue: clusters, median log age and mean pc per px; and for prose
    ``near_pc_per_px``, ``far_pc_per_px`` and ``near_galaxies``, ``far_galaxies`` (their galaxies, in
    Table 1's spelling)."""
    table = catalogue.groupby("distance_group").agg(N=("log_age", "size"), median_log_age=("log_age", "median"),
                                                    pc_per_px=("pc_per_px", "mean"))
    numbers: dict[str, float | str] = {}
    for g in GROUPS:
        ids = catalogue.loc[catalogue["distance_group"] == g, "galaxy_id"].unique()
        numbers |= {f"{g}_pc_per_px": table.loc[g, "pc_per_px"],
                    f"{g}_galaxies": ", ".join(str(i).replace("_", " ") for i in ids)}
    return table, numbers


def group_health_box(ctx, result: SweepResult):
    """The health box of the groups' trainings (:func:`~clusterage_utils.analysis.health.health_box`), with the floor
    that their small test sets set and how they are scored (:func:`group_evaluation`)."""
    from IPython.display import Markdown

    from ..health import floor_text, health_box, page_health

    h = page_health(result.scores, ctx.store)
    n = result.summary["n_test"]
    middle = (f"A group holds a few hundred clusters; this page scores them by "
              f"{group_evaluation(result.experiments)['evaluation']}. {floor_text(h, f'{n.min():.0f}-{n.max():.0f}')}"
              f" Why the groups are scored this way, and what it costs:\nthe [compute page](../book/compute.ipynb).")
    return Markdown(health_box(h, middle))


def unmasked_numbers(summary: pd.DataFrame) -> dict[str, float]:
    """For prose: the five-band model's unmasked test scatter and null per group (``near_unmasked``,
    ``near_null``, ...; dex)."""
    fb = summary[(summary["input"] == "five_band") & (summary["diameter"] == 0)].set_index("group")
    return {k: fb.loc[g, col] for g in GROUPS for k, col in ((f"{g}_unmasked", "test_scatter_mean"),
                                                               (f"{g}_null", "null_scatter_dex"))}
