"""Analyses beyond the study (chapters 7-13): each function runs what it needs through the engine and the
results store, and returns tables the chapter plots. Logic lives here so that it is tested; the notebooks only
call, show and comment.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .book import (NORMALISATION_VARIANTS, SPLIT_CASES, SPLIT_STRATEGIES, TRUTH_CASES, Chapter,
                   attribution_models, chapter_experiments, truth_test_runs)
from .metrics import (disagreements, prediction_matrix, recovery_by_age_bin, significance_table,
                      summarise_seeds)

_BY = ("case", "input", "sample", "mask", "diameter_px", "labels", "group", "masking")


# ------------------------------------------------------------------------------------------- 7: truth tests
def truth_test(ctx: Chapter, seeds=None, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Injection-recovery test of the method on mock surveys of environment coupling 0, 0.5 and 1.

    Returns
    -------
    dict
        ``scores`` (one row per run, with ``coupling``), ``summary`` (per coupling and case: mean test scatter,
        68 % interval over seeds and test bootstrap, null) and ``tests``: per coupling and case, the paired
        difference from the null predictor on the same test clusters (95 % interval, p-value, ``below_null``:
        the interval lies entirely below zero).
    """
    from .execution import run_experiments

    scores, tests = [], []
    for coupling, path, exps in truth_test_runs(ctx.profile, seeds, progress=progress):
        sc = run_experiments(exps, path, ctx.store_root, progress=progress)
        sc["coupling"] = coupling
        scores.append(sc)
        t = significance_table(ctx.store, sc, [(c, "null") for c in TRUTH_CASES])
        t["coupling"] = coupling
        tests.append(t)
    scores = pd.concat(scores, ignore_index=True)
    summary = summarise_seeds(scores, by=("coupling",) + _BY)
    tests = pd.concat(tests, ignore_index=True)
    tests["below_null"] = tests["ci_hi"] < 0
    tests = tests.rename(columns={"case_a": "case", "scatter_a_dex": "scatter_dex", "scatter_b_dex": "null_dex"})
    return {"scores": scores, "summary": summary,
            "tests": tests[["coupling", "case", "scatter_dex", "null_dex", "diff_dex", "ci_lo", "ci_hi", "p_value",
                            "below_null", "n"]]}


def truth_verdict(tests: pd.DataFrame) -> dict[str, bool]:
    """The method passes the injection-recovery test when, for the environment-only cases with real labels,
    none is significantly below the null at coupling 0 and all are at coupling 1."""
    env = tests[~tests["case"].str.endswith("shuffled")]
    c0 = env[env["coupling"] == env["coupling"].min()]
    c1 = env[env["coupling"] == env["coupling"].max()]
    shuffled = tests[tests["case"].str.endswith("shuffled")]
    return {"coupling0_consistent_with_null": bool(not c0["below_null"].any()),
            "coupling1_below_null": bool(c1["below_null"].all()),
            "shuffled_never_below_null": bool(not shuffled["below_null"].any())}


def recovery_vs_truth(ctx: Chapter, case: str = "five_band_full_none") -> pd.DataFrame:
    """CNN vs reference vs true age per true-age bin for ``case`` (all seeds pooled; mock only)."""
    if not ctx.is_mock:
        raise ValueError(f"{ctx.data_path}: the truth comparison needs the mock survey's true ages")
    sc = ctx.run([e for e in chapter_experiments("07", ctx.profile) if e.case == case], progress=False)
    preds = pd.concat([ctx.store.predictions(k) for k in sc["key"]], ignore_index=True)
    return recovery_by_age_bin(preds)


# ------------------------------------------------------------------------------------------- 8: splits
def split_comparison(ctx: Chapter, seeds=None, progress: bool = True) -> pd.DataFrame:
    """Scatter per split strategy (random / spatial / galaxy) for :data:`SPLIT_CASES`, with the share of test
    cutouts that overlap a training or validation cutout under each split (``test_overlap_frac``)."""
    from .preprocessing import overlap_fraction

    exps = chapter_experiments("08", ctx.profile, seeds=seeds)
    scores = ctx.run(exps, progress=progress)
    summary = summarise_seeds(scores, by=_BY + ("split",))
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
    piv = summary.pivot_table(index="case", columns="split", values="predictive_power_pct")
    out = piv.reindex(columns=list(SPLIT_STRATEGIES))
    for sp in ("spatial", "galaxy"):
        if sp in out and "random" in out:
            out[f"{sp}/random"] = out[sp] / out["random"]
    return out.reindex(list(SPLIT_CASES))


# ------------------------------------------------------------------------------------------- 9: attribution
def attribution_study(ctx: Chapter, n_clusters: int = 200, steps: int = 32, gallery_per_bin: int = 2,
                      seed: int = 0) -> dict:
    """Integrated gradients (and occlusion maps for a small gallery) of chapter 9's 5-band model on test clusters.

    Returns
    -------
    dict
        ``profiles`` (radial profiles and cumulative shares by age bin, :func:`attribution.profiles_by_age`),
        ``gallery`` (inputs, IG maps, occlusion maps, ages, predictions of a young / intermediate / old
        selection), ``model_case`` and ``completeness`` (median |sum(IG) - (f(x) - f(0))| / |f(x) - f(0)|).
    """
    from .attribution import integrated_gradients, occlusion_map, profiles_by_age
    from .execution import run_experiments
    from .store import record_key
    from .training import experiment_inputs

    exp = attribution_models(ctx.profile)[0]
    run_experiments([exp], ctx.data_path, ctx.store_root, progress=False, save_models=True)
    key = record_key(exp.hash, ctx.data.fingerprint())
    rec = ctx.store.get(key)
    model = ctx.store.load_model(key)
    p = ctx.store.predictions(key)
    test = p[p["set"] == "test"].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(test), min(n_clusters, len(test)), replace=False))
    idx = test.loc[pick, "index"].to_numpy()
    x = experiment_inputs(exp, ctx.data, idx)
    ig = integrated_gradients(model, x, steps=steps)
    fx = np.asarray(model.predict(x, verbose=0), float).ravel()
    f0 = np.asarray(model.predict(np.zeros_like(x), verbose=0), float).ravel()
    gap = fx - f0
    completeness = float(np.median(np.abs(ig.reshape(len(x), -1).sum(1) - gap) / np.maximum(np.abs(gap), 1e-6)))
    ages = test.loc[pick, "label"].to_numpy(float)
    profiles = profiles_by_age(ig, ages)
    # gallery: the clusters nearest the middle of three age bins
    gal = []
    for target in (6.5, 8.0, 9.5):
        gal += list(np.argsort(np.abs(ages - target))[:gallery_per_bin])
    occ = occlusion_map(model, x[gal]) * rec["label_span"]  # model output -> dex of log age
    gallery = {"inputs": x[gal], "ig": ig[gal], "occlusion": occ, "log_ages": ages[gal],
               "predicted": test.loc[pick[gal], "pred"].to_numpy(float)}
    return {"profiles": profiles, "gallery": gallery, "model_case": exp.name, "completeness": completeness,
            "n": len(x)}


# ------------------------------------------------------------------------------------------- 10: pc masks
def physical_masks(ctx: Chapter, diameters=None, diameters_pc=None, seeds=None, progress: bool = True
                   ) -> pd.DataFrame:
    """Inner-masking curves of near and far galaxies with masks in px and in pc: a summary with ``unit``
    (px / pc) and ``diameter`` in that unit (diameter 0, the unmasked model, appears under both)."""
    exps = chapter_experiments("10", ctx.profile, diameters=diameters, seeds=seeds, diameters_pc=diameters_pc)
    scores = ctx.run(exps, progress=progress)
    scores["unit"] = scores["diameter_unit"]  # "px" for the unmasked model (Experiment normalises it)
    s = summarise_seeds(scores, by=_BY + ("unit",))
    zero = s[s["mask"] == "none"].assign(unit="pc")
    s = pd.concat([s, zero], ignore_index=True)
    s["diameter"] = s["diameter_px"]
    return s


def pc_to_px_table(ctx: Chapter, diameters_pc) -> pd.DataFrame:
    """What a physical mask is in pixels for each distance group (median over its clusters)."""
    cat = ctx.data.catalogue
    rows = []
    for g, sub in cat.groupby("distance_group"):
        ppx = sub["pc_per_px"].median()
        rows.append({"group": g, "pc_per_px": ppx,
                     **{f"{d} pc": round(min(d / ppx, ctx.data.shape[-1]), 1) for d in diameters_pc if d}})
    return pd.DataFrame(rows).set_index("group")


# ------------------------------------------------------------------------------------------- 11: significance
def case_significance(ctx: Chapter, pairs, seeds=None, progress: bool = True, level: float = 0.95) -> pd.DataFrame:
    """Paired significance of the study's comparisons (chapter 11), all seeds pooled on the same test clusters."""
    scores = ctx.run(chapter_experiments("11", ctx.profile, seeds=seeds), progress=progress)
    return significance_table(ctx.store, scores, pairs, level=level)


# ------------------------------------------------------------------------------------------- 12: disagreements
def disagreement_catalogue(ctx: Chapter, n_sigma: float = 3.0, seeds=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test clusters where the 5-band CNN (mean over seeds) and the reference age disagree by > ``n_sigma``
    sigma, with the catalogue's columns (true age, dust, environment age on the mock).

    Returns (flagged clusters, all test predictions); the flagged frame's ``attrs`` hold ``sigma_dex``,
    ``n_test`` and ``n_seeds``.
    """
    scores = ctx.run(chapter_experiments("12", ctx.profile, seeds=seeds), progress=False)
    preds, lab, truth, idx = prediction_matrix(ctx.store, scores["key"].tolist())
    p = pd.DataFrame({"index": idx, "set": "test", "label": lab, "pred": preds.mean(0)})
    if truth is not None:
        p["true_log_age"] = truth
    out = disagreements(p, n_sigma=n_sigma)
    cat = ctx.data.catalogue
    keep = [c for c in ("galaxy_id", "cluster_id", "distance_group", "true_ebv_mag", "env_log_age", "env_coupled",
                        "true_mass_msun", "dust_cover") if c in cat]
    extra = cat.iloc[out["index"].to_numpy()][keep].reset_index(drop=True)
    res = pd.concat([out.reset_index(drop=True), extra], axis=1)
    res.attrs.update(out.attrs, n_test=len(p), n_seeds=len(preds))
    return res, p


# ------------------------------------------------------------------------------------------- 13: normalisation
def normalisation_comparison(ctx: Chapter, seeds=None, progress: bool = True) -> pd.DataFrame:
    """Test scatter of :data:`NORMALISATION_CASES` under each of :data:`NORMALISATION_VARIANTS`."""
    scores = ctx.run(chapter_experiments("13", ctx.profile, seeds=seeds), progress=progress)
    s = summarise_seeds(scores, by=_BY + ("normalisation",))
    s["normalisation"] = pd.Categorical(s["normalisation"], list(NORMALISATION_VARIANTS), ordered=True)
    return s.sort_values(["case", "normalisation"]).reset_index(drop=True)
