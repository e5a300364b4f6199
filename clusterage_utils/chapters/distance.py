"""Chapter 06, near and far galaxies (the study's Figs. 6-7): the inner-masking sweep retrained on each
distance group of Table 1, each against its own null predictor."""
from __future__ import annotations

from ..experiments import Experiment
from ..sweeps import MaskKind
from .common import PageSettings, unique
from .masking import sweep_experiments

__all__ = ["GROUPS", "DISTANCE_PANELS", "experiments", "group_evaluation"]

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
