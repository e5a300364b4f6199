"""Chapter 07, truth tests: does the masking method find environment information only where the mock put it?

Injection-recovery on mock surveys that differ only in their environment coupling (0: the environment carries no
age information, 1: all it can): the environment-only white-light cases and a shuffled-label control are trained
on each, and compared with the null predictor on the same test clusters.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ...engine.experiments import Experiment, case_experiments
from ...engine.profiles import Profile
from ...metrics import CASE_COLUMNS, recovery_by_age_bin, significance_table, summarise_seeds
from .common import PageSettings, for_extensions

__all__ = ["COUPLINGS", "CORE_COUPLINGS", "TRUTH_CASES", "couplings", "experiments", "truth_test_runs", "truth_test",
           "truth_verdict", "recovery_vs_truth", "recovery_numbers", "verdict_text"]

#: Environment couplings of the injection-recovery surveys (1 = the book's own survey).
COUPLINGS = (0.0, 0.5, 1.0)
#: The couplings of a profile with ``extensions="core"``: no environment information against the book's survey.
CORE_COUPLINGS = (0.0, 1.0)
#: The environment-only case (white light, centre masked at 24 px: no cluster light) and its shuffled-label control.
TRUTH_CASES = ("white_light_full_mask_centre_24", "white_light_full_mask_centre_24_shuffled")


def couplings(profile: Profile) -> tuple[float, ...]:
    """The environment couplings this profile's truth test trains on (:data:`COUPLINGS` or, for a profile with
    ``extensions="core"``, :data:`CORE_COUPLINGS`)."""
    return for_extensions(profile, COUPLINGS, CORE_COUPLINGS)


def experiments(settings: PageSettings) -> list[Experiment]:
    """On the book's own survey (coupling 1): the five-band model (compared with the truth) and
    :data:`TRUTH_CASES`."""
    return case_experiments(["five_band_full_none", *TRUTH_CASES], settings.profile)


def truth_test_runs(profile: Profile, root: str | os.PathLike | None = None,
                    progress: bool = True) -> list[tuple[float, Path, list[Experiment]]]:
    """For each of the profile's :func:`couplings`: the profile's mock survey made with that coupling (same seed
    otherwise; made and curated if absent - minutes each) and the cases to run on it.

    Returns
    -------
    list of (coupling, cutout file, experiments)
    """
    from ...survey.curation import ensure_default_cutouts

    return [(c, ensure_default_cutouts(profile, root=root, environment_coupling=c, progress=progress),
             case_experiments(list(TRUTH_CASES), profile)) for c in couplings(profile)]


def truth_test(ctx, progress: bool = True) -> dict[str, pd.DataFrame]:
    """The injection-recovery test.

    Returns
    -------
    dict
        ``scores`` (one row per run, with ``coupling``), ``summary`` (per coupling and case) and ``tests``: per
        coupling and case, the paired difference from the null predictor on the same test clusters (95 %
        interval, p-value; ``below_null``: the interval lies entirely below zero).
    """
    from ...engine.execution import run_experiments

    scores, tests = [], []
    for coupling, path, exps in truth_test_runs(ctx.profile, progress=progress):
        sc = run_experiments(exps, path, ctx.store_root, progress=progress)
        sc["coupling"] = coupling
        scores.append(sc)
        t = significance_table(ctx.store, sc, [(c, "null") for c in TRUTH_CASES])
        t["coupling"] = coupling
        tests.append(t)
    scores = pd.concat(scores, ignore_index=True)
    summary = summarise_seeds(scores, by=("coupling",) + CASE_COLUMNS)
    tests = pd.concat(tests, ignore_index=True)
    tests["below_null"] = tests["ci_hi"] < 0
    tests = tests.rename(columns={"case_a": "case", "scatter_a_dex": "scatter_dex", "scatter_b_dex": "null_dex"})
    return {"scores": scores, "summary": summary,
            "tests": tests[["coupling", "case", "scatter_dex", "null_dex", "diff_dex", "ci_lo", "ci_hi", "p_value",
                            "below_null", "n"]]}


def truth_verdict(tests: pd.DataFrame) -> dict[str, bool]:
    """The method passes when, for the environment-only cases with real labels, none is significantly below the
    null at the lowest coupling and all are at the highest, and the shuffled control never is."""
    env = tests[~tests["case"].str.endswith("shuffled")]
    c0 = env[env["coupling"] == env["coupling"].min()]
    c1 = env[env["coupling"] == env["coupling"].max()]
    shuffled = tests[tests["case"].str.endswith("shuffled")]
    return {"coupling0_consistent_with_null": bool(not c0["below_null"].any()),
            "coupling1_below_null": bool(c1["below_null"].all()),
            "shuffled_never_below_null": bool(not shuffled["below_null"].any())}


def recovery_vs_truth(ctx, case: str = "five_band_full_none") -> pd.DataFrame:
    """CNN vs reference vs true age per true-age bin for ``case`` (all seeds pooled; mock only).

    Raises
    ------
    ValueError
        On data without the mock's true ages.
    """
    if not ctx.is_mock:
        raise ValueError(f"{ctx.data_path}: the truth comparison needs the mock survey's true ages")
    sc = ctx.run([e for e in experiments(ctx.settings) if e.case == case], progress=False)
    preds = pd.concat([ctx.store.predictions(k) for k in sc["key"]], ignore_index=True)
    return recovery_by_age_bin(preds)


def verdict_text(tests: pd.DataFrame) -> dict[str, str]:
    """The verdicts of :func:`truth_verdict` as sentences for the page (``coupling0``, ``coupling1``,
    ``shuffled``), each stating the measured differences from the null with their 95 % intervals."""
    v = truth_verdict(tests)
    env = tests[~tests["case"].str.endswith("shuffled")]

    def fmt(t):
        return "; ".join(f"{r.case.replace('_', ' ')}: {r.diff_dex:+.3f} dex [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]"
                         for r in t.itertuples())

    c0 = env[env["coupling"] == env["coupling"].min()]
    c1 = env[env["coupling"] == env["coupling"].max()]
    return {
        "coupling0": f"difference from the null {fmt(c0)}. " + (
            "Consistent with the null: the method does not invent an environmental signal."
            if v["coupling0_consistent_with_null"] else
            "Significantly below the null although no signal was planted: the masked cutouts still carry age "
            "information that is not environmental (e.g. the cluster's own outer light beyond the mask), so an "
            "environment-only score overstates the environment."),
        "coupling1": f"{fmt(c1)}. " + (
            "Clearly below the null: the planted signal is recovered." if v["coupling1_below_null"] else
            "Not clearly below the null: with this profile the method does not detect a fully planted signal."),
        "shuffled": ("never" if v["shuffled_never_below_null"] else "sometimes") + " significantly below the null",
        "passes": "passes" if all(v.values()) else "does not pass",
    }


def recovery_numbers(recovery: pd.DataFrame) -> dict[str, str]:
    """For prose, from :func:`recovery_vs_truth`: the true-age bins where the CNN is closer to the truth than the
    reference (``cnn_better_bins``; intervals apart) and where the reference is (``reference_better_bins``)."""
    r = recovery
    better = r[r["cnn_ci_hi"] < r["reference_ci_lo"]]["true_log_age_bin"].tolist()
    worse = r[r["reference_ci_hi"] < r["cnn_ci_lo"]]["true_log_age_bin"].tolist()
    return {"cnn_better_bins": ", ".join(better) or "none", "reference_better_bins": ", ".join(worse) or "none"}
