"""Chapter 08, leakage: does signal leak through overlapping cutouts? The same cases under the study's random
split, an overlap-free spatial split and a split by whole galaxies."""
from __future__ import annotations

import pandas as pd

from ...engine.experiments import Experiment, case_experiments
from ...engine.profiles import Profile
from ...metrics import CASE_COLUMNS, summarise_seeds
from .common import PageSettings, for_extensions

__all__ = ["SPLIT_STRATEGIES", "SPLIT_CASES", "ENVIRONMENT_CASE", "TABLE_COLUMNS", "split_cases", "experiments",
           "split_comparison", "leakage_table", "leakage_numbers"]

SPLIT_STRATEGIES = ("random", "spatial", "galaxy")
#: The environment-only case (white light, centre masked at 24 px): the one whose signal leakage could fake.
ENVIRONMENT_CASE = "white_light_full_mask_centre_24"
SPLIT_CASES = ("five_band_full_none", ENVIRONMENT_CASE)
#: The columns of the chapter's table of scores.
TABLE_COLUMNS = ["case", "split", "n_train", "n_test", "test_overlap_frac", "test_scatter_mean", "test_ci_lo",
                 "test_ci_hi", "null_scatter_dex", "predictive_power_pct"]


def split_cases(profile: Profile) -> tuple[str, ...]:
    """The cases this profile trains under every split: :data:`SPLIT_CASES`, or for a profile with
    ``extensions="core"`` only :data:`ENVIRONMENT_CASE`."""
    return for_extensions(profile, SPLIT_CASES, (ENVIRONMENT_CASE,))


def experiments(settings: PageSettings) -> list[Experiment]:
    """The profile's :func:`split_cases` under each of :data:`SPLIT_STRATEGIES`."""
    prof = settings.profile
    return [e for sp in SPLIT_STRATEGIES for e in case_experiments(split_cases(prof), prof, split=sp)]


def split_comparison(ctx, progress: bool = True) -> pd.DataFrame:
    """Scatter per split strategy for the profile's :func:`split_cases`, with the share of test cutouts that
    overlap a training or validation cutout under each split (``test_overlap_frac``)."""
    from ...engine.preprocessing import overlap_fraction

    scores = ctx.run(experiments(ctx.settings), progress=progress)
    summary = summarise_seeds(scores, by=CASE_COLUMNS + ("split",))
    cat = ctx.data.catalogue
    over = {}
    for sp in SPLIT_STRATEGIES:
        p = ctx.store.predictions(scores.loc[scores["split"] == sp, "key"].iloc[0])
        seen = p.loc[p["set"] != "test", "index"].to_numpy()
        held = p.loc[p["set"] == "test", "index"].to_numpy()
        over[sp] = overlap_fraction(cat, held, seen, ctx.data.shape[-1]) if "x_px" in cat else float("nan")
    summary["test_overlap_frac"] = summary["split"].map(over)
    return summary


def leakage_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Predictive power per case and split, and the share of the random split's power that remains without
    overlap (spatial) and across galaxies: a share well below 1 is signal that leaked through shared pixels."""
    piv = summary.pivot_table(index="base_case" if "base_case" in summary else "case", columns="split",
                              values="predictive_power_pct")
    out = piv.reindex(columns=list(SPLIT_STRATEGIES))
    for sp in ("spatial", "galaxy"):
        if sp in out and "random" in out:
            out[f"{sp}/random"] = out[sp] / out["random"]
    return out.reindex([c for c in SPLIT_CASES if c in out.index])


def leakage_numbers(table: pd.DataFrame, summary: pd.DataFrame) -> dict[str, float]:
    """For prose (%): ``overlap_random`` (test cutouts overlapping a seen one under the random split), and the
    share of the environment case's random-split power kept under the spatial (``env_spatial``) and galaxy
    (``env_galaxy``) splits, and lost without overlap (``env_leaked``)."""
    env = table.loc[ENVIRONMENT_CASE]
    overlap = summary.groupby("split")["test_overlap_frac"].first()
    return {"overlap_random": 100 * overlap["random"], "env_spatial": 100 * env["spatial/random"],
            "env_galaxy": 100 * env["galaxy/random"], "env_leaked": 100 * (1 - env["spatial/random"])}
