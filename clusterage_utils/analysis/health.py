"""Is a set of trainings fit to make a figure from? Checks computed from the results store, never typed.

Per run (:func:`run_flags`)
    ``worse_than_null``: the whole 68 % test-bootstrap interval of the scatter lies above the null predictor;
    ``stuck_at_start``: early stopping ended the run with its best epoch at or before :data:`STUCK_EPOCH` (a
    plateau at the start: the network never learnt); ``still_improving``: the run hit its epoch cap while its
    validation loss still fell by more than :data:`STILL_IMPROVING_GAIN` over the last three epochs (more epochs
    would have helped); ``restarted``: the first network collapsed to one value on the validation set and was
    re-initialised (below ``TrainingSettings.collapse_spread``, by default
    :data:`~clusterage_utils.engine.recipe.COLLAPSE_SPREAD`; the record is of the attempt kept);
    ``failed_seed``: the run scores within :data:`FAILED_SEED_NULL_FRACTION` of the null
    while another seed of the same case reaches :data:`LEARNT_NULL_FRACTION` x the null or better (a network that
    collapsed to the mean where the data let it learn - early stopping need not notice).
Per case (:func:`case_health`)
    the seed range (max - min test scatter over seeds), and whether the case is indistinguishable from the null
    (its interval of the seed mean reaches the null): an honest "no detectable signal", not a defect. With the
    per-cluster predictions (:func:`seed_range_floor`), the range that networks of equal skill would show on the
    same test set - a small test set sets a floor under any seed range - and whether the seeds differ beyond it.
Per sweep (:func:`monotonicity_violations`)
    masking more cannot add information: a larger inner mask (``mask_centre``) or a smaller kept region
    (``keep_centre``) scoring better than its neighbour beyond both 68 % intervals, or a masked case beating the
    unmasked one, is a violation. It is *consistent* when every seed of the better case beats every seed of the
    other: a property of the representation or the learner that a page must explain; otherwise it is noise.

Shuffled-label controls are expected to sit at the null; they are reported but never counted as failures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import CASE_COLUMNS, SCATTER_FACTOR, prediction_matrix, summarise_seeds
from ..sweeps import SWEEP_KINDS, MaskKind, Sweep

__all__ = ["STUCK_EPOCH", "STILL_IMPROVING_GAIN", "FAILED_SEED_NULL_FRACTION", "LEARNT_NULL_FRACTION", "run_flags",
           "case_health", "exchangeable_seed_ranges", "seed_range_floor", "monotonicity_violations",
           "SEED_RANGE_DRAWS", "SEED_RANGE_ALPHA", "seed_range_parts", "study_seed_range_parts",
           "health_report", "health_summary", "page_health", "health_box", "floor_text", "sweep_noise"]

#: A run early-stopped with its best epoch at or before this one never left its starting plateau.
STUCK_EPOCH = 2
#: Relative fall of the validation loss in the last three epochs above which a run at its cap was still improving.
STILL_IMPROVING_GAIN = 0.02
#: A seed scoring at least this fraction of the null predictor's scatter learnt (next to) nothing ...
FAILED_SEED_NULL_FRACTION = 0.95
#: ... which is a failure when another seed of its case reached this fraction of the null or better.
LEARNT_NULL_FRACTION = 0.8
#: Permutations behind a case's seed-range floor (:func:`seed_range_floor`).
SEED_RANGE_DRAWS = 1000
#: A case's seeds differ beyond its test set's noise when fewer than this fraction of the permutations are as wide.
SEED_RANGE_ALPHA = 0.05

_PANEL = ["input", "sample", "labels", "group", "masking", "normalisation", "split", "mask_convention"]


def run_flags(scores: pd.DataFrame) -> pd.DataFrame:
    """Per-run health flags (see the module docstring) added to store rows.

    Parameters
    ----------
    scores : pandas.DataFrame
        :meth:`~clusterage_utils.engine.store.ResultsStore.scores` rows.

    Returns
    -------
    pandas.DataFrame
        ``scores`` with boolean columns ``worse_than_null``, ``stuck_at_start``, ``still_improving``,
        ``failed_seed``, ``restarted`` (re-initialised after its first network collapsed) and ``control`` (shuffled
        labels).
    """
    df = scores.copy()
    df["control"] = df["labels"].eq("shuffled") if "labels" in df else False
    df["worse_than_null"] = df["test_scatter_ci_lo"] > df["null_scatter_dex"]
    stopped = df["stopped_early"].astype(bool) if "stopped_early" in df else df["epochs_run"] < df["max_epochs"]
    df["stuck_at_start"] = stopped & (df["best_epoch"] <= STUCK_EPOCH)
    gain = df["late_val_gain"] if "late_val_gain" in df else pd.Series(np.nan, index=df.index)
    df["still_improving"] = ~stopped & (df["epochs_run"] >= df["max_epochs"]) & (gain > STILL_IMPROVING_GAIN)
    rel = df["test_scatter_dex"] / df["null_scatter_dex"]
    best_of_case = rel.groupby(df["case"]).transform("min")
    df["failed_seed"] = ~df["control"] & (rel >= FAILED_SEED_NULL_FRACTION) & (best_of_case <= LEARNT_NULL_FRACTION)
    restarts = df["restarts"] if "restarts" in df else pd.Series(0, index=df.index)
    df["restarted"] = restarts.fillna(0).astype(int) > 0
    return df


def case_health(scores: pd.DataFrame) -> pd.DataFrame:
    """Per case: seeds, seed range (dex), mean test scatter and its 68 % interval, the null, and whether the case
    is indistinguishable from the null.

    Parameters
    ----------
    scores : pandas.DataFrame
        Store rows (several seeds per case).
    """
    summ = summarise_seeds(scores, by=CASE_COLUMNS + tuple(c for c in ("normalisation", "split", "mask_convention")
                                                           if c in scores))
    rng = scores.groupby("case")["test_scatter_dex"].agg(lambda v: float(v.max() - v.min()))
    summ["seed_range_dex"] = summ["case"].map(rng)
    summ["no_detectable_signal"] = summ["test_ci_hi"] >= summ["null_scatter_dex"]
    return summ


def exchangeable_seed_ranges(abs_errors: np.ndarray, draws: int = SEED_RANGE_DRAWS, seed: int = 0) -> np.ndarray:
    """Seed ranges that networks of equal skill would show on one test set: a permutation distribution.

    Each cluster's absolute errors are shuffled among the seeds (a new permutation per cluster and draw), each
    shuffled seed is scored (1.49 x median absolute error) and the range over seeds kept. The seeds' errors on the
    same clusters stay paired, so what is left is the spread that comes from which clusters a network happens to
    get right, on a test set of this size.

    Parameters
    ----------
    abs_errors : ndarray, shape (n_seeds, n_clusters)
        |prediction - label| of each seed on the same test clusters (dex).
    draws : int
        Permutations.
    seed : int
        Seed of the permutations.

    Returns
    -------
    ndarray, shape (draws,)
        Max - min scatter over the shuffled seeds (dex).

    Raises
    ------
    ValueError
        With fewer than two seeds or no cluster.
    """
    e = np.asarray(abs_errors, float)
    if e.ndim != 2 or e.shape[0] < 2 or e.shape[1] < 1:
        raise ValueError(f"need errors of at least 2 seeds on the same clusters, shape (seeds, clusters); got "
                         f"{e.shape}")
    order = np.argsort(np.random.default_rng(seed).random((draws, *e.shape)), axis=1)
    scatter = SCATTER_FACTOR * np.median(np.take_along_axis(np.broadcast_to(e, (draws, *e.shape)), order, axis=1),
                                         axis=2)
    return scatter.max(axis=1) - scatter.min(axis=1)


def seed_range_floor(store, scores: pd.DataFrame, draws: int = SEED_RANGE_DRAWS) -> pd.DataFrame:
    """Per case with several seeds: its seed range against the range its test set alone would produce.

    Parameters
    ----------
    store : ResultsStore
        The store holding the records' per-cluster predictions.
    scores : pandas.DataFrame
        Store rows (``key``, ``case``, ``seed``, ``test_scatter_dex``).
    draws : int
        Permutations per case (:func:`exchangeable_seed_ranges`).

    Returns
    -------
    pandas.DataFrame
        ``case``, ``seed_range_floor_dex`` (median range of equally good networks on that test set) and
        ``seed_range_p`` (the fraction of those ranges at least as wide as the observed one: small when the seeds
        differ in skill, not only in which clusters they get right).
    """
    rows = []
    for case, runs in scores.sort_values("seed").groupby("case"):
        if len(runs) < 2:
            continue
        preds, labels, _, _ = prediction_matrix(store, list(runs["key"]))
        errors = np.abs(preds - labels)
        observed = np.ptp(SCATTER_FACTOR * np.median(errors, axis=1))
        null = exchangeable_seed_ranges(errors, draws)
        rows.append({"case": case, "seed_range_floor_dex": float(np.median(null)),
                     "seed_range_p": float((np.sum(null >= observed - 1e-12) + 1) / (draws + 1))})
    return pd.DataFrame(rows, columns=["case", "seed_range_floor_dex", "seed_range_p"])


def _seed_range_parts(cases: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Reference-label cases with several seeds: the distance groups' and the others'."""
    multi = cases[(cases["n_seeds"] > 1) & (cases["labels"] != "shuffled")]
    in_group = multi["group"].notna() & (multi["group"] != "all")
    return {"group": multi[in_group], "rest": multi[~in_group]}


def seed_range_parts(cases: pd.DataFrame) -> dict[str, float | int | str | bool]:
    """Seed ranges against their floor, for the distance groups and for the other cases, as flat numbers for prose.

    Parameters
    ----------
    cases : pandas.DataFrame
        :func:`case_health` rows with :func:`seed_range_floor`'s columns (``health_report(scores, store)``).

    Returns
    -------
    dict
        For ``part`` in ``group`` and ``rest``: ``{part}_range_p90`` and ``{part}_floor_p90`` (dex),
        ``{part}_n_test`` (``"lo-hi"`` test clusters), ``{part}_cases``, ``{part}_beyond`` (cases beyond their
        floor, p < :data:`SEED_RANGE_ALPHA`) and ``{part}_by_chance``; NaN / 0 for an empty part. And
        ``group_within_floor``: the groups have no more cases beyond their floor than twice chance, plus one.
    """
    out: dict[str, float | int | str | bool] = {}
    for part, rows in _seed_range_parts(cases).items():
        p = rows["seed_range_p"].dropna() if "seed_range_p" in rows else pd.Series(dtype=float)
        floor = rows["seed_range_floor_dex"].dropna() if "seed_range_floor_dex" in rows else p
        out |= {f"{part}_range_p90": float(np.quantile(rows["seed_range_dex"], 0.9)) if len(rows) else float("nan"),
                f"{part}_floor_p90": float(np.quantile(floor, 0.9)) if len(floor) else float("nan"),
                f"{part}_n_test": f"{rows['n_test'].min():.0f}-{rows['n_test'].max():.0f}" if len(rows) else "-",
                f"{part}_cases": len(rows), f"{part}_beyond": int((p < SEED_RANGE_ALPHA).sum()),
                f"{part}_by_chance": round(SEED_RANGE_ALPHA * len(p), 1)}
    out["group_within_floor"] = out["group_beyond"] <= 2 * out["group_by_chance"] + 1
    return out


def study_seed_range_parts(cases: pd.DataFrame, draws: int = 200, preds: pd.DataFrame | None = None
                           ) -> dict[str, float]:
    """What the study's own networks' seeds differ by on test sets the size of the book's: a real-data yardstick.

    Reads the study's released per-cluster predictions (:func:`~.study.study_seed_ranges`; about
    a second) and, for the distance groups and for the other cases with several seeds, draws test subsets of each
    of their test sizes and as many of the study's models as the cases have seeds (both capped at what the study
    has: its largest test set and its models per configuration).

    Parameters
    ----------
    cases : pandas.DataFrame
        :func:`case_health` rows.
    draws : int
        Draws per study configuration and test size.
    preds : pandas.DataFrame, optional
        :func:`~.study.study_predictions` (read when not given).

    Returns
    -------
    dict
        ``group_study_p90`` and ``rest_study_p90``: the 90th percentile of the study's seed ranges over those
        draws (dex); NaN for a part without multi-seed cases.
    """
    from .study import study_predictions, study_seed_ranges

    out: dict[str, float] = {}
    for part, rows in _seed_range_parts(cases).items():
        if rows.empty:
            out[f"{part}_study_p90"] = float("nan")
            continue
        preds = study_predictions() if preds is None else preds
        largest = int(preds[preds["split"] == "test"].groupby("configuration", observed=True)["row"].nunique().max())
        sizes = sorted({min(int(n), largest) for n in rows["n_test"]})
        n_seeds = min(int(rows["n_seeds"].mode()[0]), int(preds["model"].nunique()))
        ranges = study_seed_ranges(sizes, n_seeds, draws, preds=preds)
        out[f"{part}_study_p90"] = float(np.quantile(ranges["seed_range_dex"], 0.9))
    return out


def monotonicity_violations(summary: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Sweeps where masking more scores better beyond both 68 % intervals (see the module docstring).

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`case_health` (or :func:`~clusterage_utils.metrics.summarise_seeds`) rows.
    scores : pandas.DataFrame
        The store rows behind it (per seed), to tell consistent violations from noise.

    Returns
    -------
    pandas.DataFrame
        One row per violation: ``panel``, ``kind`` (``mask_centre``, ``keep_centre`` or ``masked_vs_unmasked``),
        ``better`` and ``worse`` cases (the one with more masking that scores better, and the other), their mean
        test scatters, and ``consistent``.
    """
    s = summary[summary["labels"] != "shuffled"]
    if "diameter_unit" in s:
        s = s[s["diameter_unit"].fillna("px") == "px"]
    per_seed = scores.groupby("case")["test_scatter_dex"].apply(list)
    panel_cols = [c for c in _PANEL if c in s]
    rows = []

    def add(kind, panel, better, worse):
        if better["test_ci_hi"] < worse["test_ci_lo"]:
            b, w = per_seed.get(better["case"], []), per_seed.get(worse["case"], [])
            rows.append({"panel": panel, "kind": kind, "better": better["case"], "worse": worse["case"],
                         "better_dex": better["test_scatter_mean"], "worse_dex": worse["test_scatter_mean"],
                         "consistent": bool(len(b) and len(w) and max(b) < min(w))})

    for key, panel in s.fillna({"group": "all"}).groupby(panel_cols, dropna=False):
        name = "/".join(str(k) for k in (key if isinstance(key, tuple) else (key,)) if k not in ("reference", "all",
                                                                                               "retrain"))
        for kind in SWEEP_KINDS:
            for more, less in Sweep(kind).neighbours(panel):
                add(kind.value, name, more, less)             # hides more, scores better
        unmasked = panel[panel["mask"] == MaskKind.NONE.value]
        if len(unmasked):
            for _, m in panel[panel["mask"] != MaskKind.NONE.value].iterrows():
                add("masked_vs_unmasked", name, m, unmasked.iloc[0])
    return pd.DataFrame(rows, columns=["panel", "kind", "better", "worse", "better_dex", "worse_dex", "consistent"])


def health_report(scores: pd.DataFrame, store=None) -> dict[str, pd.DataFrame]:
    """Every check at once: ``runs`` (:func:`run_flags`), ``cases`` (:func:`case_health`, with
    :func:`seed_range_floor`'s columns when ``store`` is given) and ``violations``
    (:func:`monotonicity_violations`)."""
    runs = run_flags(scores)
    cases = case_health(scores)
    if store is not None:
        cases = cases.merge(seed_range_floor(store, scores), on="case", how="left")
    return {"runs": runs, "cases": cases, "violations": monotonicity_violations(cases, scores)}


def health_summary(report: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One table a reader can scan: each check, its count or value, and what it means.

    Counts exclude the shuffled-label controls (expected at the null) except in their own line.
    """
    runs, cases, viol = report["runs"], report["cases"], report["violations"]
    ref = runs[~runs["control"]]
    ref_cases = cases[cases["labels"] != "shuffled"]
    multi = ref_cases[ref_cases["n_seeds"] > 1]["seed_range_dex"]
    q90 = float(np.quantile(multi, 0.9)) if len(multi) else float("nan")
    items = [
        ("trainings (reference labels)", len(ref), "records in the store behind these pages"),
        ("worse than the null", int(ref["worse_than_null"].sum()), "whole test interval above the null"),
        ("stuck at the start", int(ref["stuck_at_start"].sum()), f"early-stopped, best epoch <= {STUCK_EPOCH}"),
        ("seeds at the null where another learnt", int(ref["failed_seed"].sum()),
         f">= {FAILED_SEED_NULL_FRACTION:g} x null while a seed of its case reached <= {LEARNT_NULL_FRACTION:g} x"),
        ("still improving at the epoch cap", int(ref["still_improving"].sum()),
         f"validation loss fell > {100 * STILL_IMPROVING_GAIN:.0f} % in the last 3 epochs"),
        ("re-initialised after a collapse", int(ref["restarted"].sum()),
         "a network's validation predictions spread < collapse_spread x the labels'"),
        ("seed range, 90th percentile (dex)", round(q90, 3), f"over {len(multi)} cases with several seeds"),
        ("seed range, largest (dex)", round(float(multi.max()), 3) if len(multi) else float("nan"),
         ref_cases.loc[multi.idxmax(), "case"] if len(multi) else ""),
        *_floor_items(ref_cases[ref_cases["n_seeds"] > 1]),
        ("cases with no detectable signal", int(ref_cases["no_detectable_signal"].sum()),
         "interval reaches the null: an honest null result"),
        ("monotonicity violations, consistent", int(viol["consistent"].sum()), "explained on their page"),
        ("monotonicity violations, inconsistent", int((~viol["consistent"]).sum()), "seed noise"),
        ("shuffled-label controls below the null", int((runs["control"] & (runs["test_scatter_ci_hi"] <
                                                                           runs["null_scatter_dex"])).sum()),
         "should be 0"),
    ]
    return pd.DataFrame(items, columns=["check", "value", "meaning"])


def _floor_items(cases: pd.DataFrame) -> list[tuple]:
    """The summary lines of :func:`seed_range_floor` (none without its columns)."""
    if "seed_range_p" not in cases or not cases["seed_range_p"].notna().any():
        return []
    floor, p = cases["seed_range_floor_dex"].dropna(), cases["seed_range_p"].dropna()
    return [("seed range of equally good networks, 90th percentile (dex)", round(float(np.quantile(floor, 0.9)), 3),
             "the floor the test sets set: errors shuffled among seeds, per cluster"),
            ("cases whose seeds differ beyond that floor", int((p < SEED_RANGE_ALPHA).sum()),
             f"permutation p < {SEED_RANGE_ALPHA:g} (about {SEED_RANGE_ALPHA * len(p):.0f} of {len(p)} by chance)")]


def sweep_noise(scores: pd.DataFrame) -> dict[str, float | int]:
    """How noisy one benchmark setting's trainings are (the benchmark scripts' rows).

    Parameters
    ----------
    scores : pandas.DataFrame
        Store rows of one setting (several seeds per case; an amortised model counts once per diameter).

    Returns
    -------
    dict
        ``runs``, ``worse_than_null``, ``at_null`` (>= 0.95 x the null), the seed range's ``seed_range_median``,
        ``seed_range_p90`` and ``seed_range_max`` over cases (dex), ``mean_test_scatter``, ``null_dex`` and
        ``s_per_model`` (wall seconds per trained model, diameters of one model counted once).
    """
    rng = case_health(scores)["seed_range_dex"]
    return {"runs": len(scores), "worse_than_null": int(run_flags(scores)["worse_than_null"].sum()),
            "at_null": int((scores["test_scatter_dex"] >= 0.95 * scores["null_scatter_dex"]).sum()),
            "seed_range_median": float(rng.median()), "seed_range_p90": float(np.quantile(rng, 0.9)),
            "seed_range_max": float(rng.max()), "mean_test_scatter": float(scores["test_scatter_dex"].mean()),
            "null_dex": float(scores["null_scatter_dex"].mean()),
            "s_per_model": float(scores["wall_time_s"].sum() / (len(scores) / scores["diameter"].nunique()))}


def page_health(scores: pd.DataFrame, store=None) -> dict[str, float | int | str]:
    """The health of one page's trainings as flat numbers for its prose (shuffled-label controls excluded):
    ``runs``, ``worse_than_null``, ``stuck``, ``failed_seeds``, ``still_improving``, ``seed_range_p90``,
    ``seed_range_max``, ``seed_range_max_case``, ``violations_consistent``, ``violations_inconsistent``,
    ``no_signal`` (cases) and ``verdict`` (a short sentence); with ``store`` (the records' per-cluster
    predictions) also ``seed_range_floor_p90`` (dex), ``beyond_floor`` and ``beyond_floor_by_chance`` (cases,
    :func:`seed_range_floor`)."""
    rep = health_report(scores, store)
    runs = rep["runs"][~rep["runs"]["control"]]
    cases = rep["cases"][rep["cases"]["labels"] != "shuffled"]
    multi = cases[cases["n_seeds"] > 1]
    viol = rep["violations"]
    out = {"runs": len(runs), "worse_than_null": int(runs["worse_than_null"].sum()),
           "stuck": int(runs["stuck_at_start"].sum()), "failed_seeds": int(runs["failed_seed"].sum()),
           "still_improving": int(runs["still_improving"].sum()),
           "seed_range_p90": float(np.quantile(multi["seed_range_dex"], 0.9)) if len(multi) else float("nan"),
           "seed_range_max": float(multi["seed_range_dex"].max()) if len(multi) else float("nan"),
           "seed_range_max_case": multi.loc[multi["seed_range_dex"].idxmax(), "case"] if len(multi) else "",
           "violations_consistent": int(viol["consistent"].sum()),
           "violations_inconsistent": int((~viol["consistent"]).sum()),
           "no_signal": int(cases["no_detectable_signal"].sum())}
    if store is not None:                       # NaN / 0 when no case has several seeds (a one-seed profile)
        floor, p = multi["seed_range_floor_dex"].dropna(), multi["seed_range_p"].dropna()
        out.update({"seed_range_floor_p90": float(np.quantile(floor, 0.9)) if len(floor) else float("nan"),
                    "beyond_floor": int((p < SEED_RANGE_ALPHA).sum()),
                    "beyond_floor_by_chance": round(SEED_RANGE_ALPHA * len(p))})
    bad = int((runs["worse_than_null"] | runs["stuck_at_start"] | runs["failed_seed"]).sum())
    out["verdict"] = ("every training converged and beats or matches the null" if bad == 0 else
                      f"{bad} training(s) failed (worse than the null, stuck at the start or at the null where "
                      f"another seed learnt): read this page's figures with care")
    return out


def health_box(health: dict, middle: str = "", after: str = "") -> str:
    """The Markdown box that opens a chapter's results: :func:`page_health`'s numbers in words.

    Parameters
    ----------
    health : dict
        :func:`page_health` of the page's scores.
    middle : str
        Sentences between the seed ranges and the monotonicity violations (e.g. :func:`floor_text`).
    after : str
        Sentences after the link to the compute page.
    """
    h = health
    violations = (f"{h['violations_consistent']}\nconsistent, {h['violations_inconsistent']} within the noise. "
                  f"Verdict: {h['verdict']}.")
    return ("```{admonition} Health of the trainings behind this page\n:class: note\n"
            f"{h['runs']} trainings: {h['worse_than_null']} worse than the null beyond its interval,\n"
            f"{h['stuck']} stuck at the start,\n{h['failed_seeds']} at the null where another seed of its case "
            f"learnt, {h['still_improving']} still improving at the epoch cap;\nseed range "
            f"{h['seed_range_p90']:.3f} dex at the 90th percentile, {h['seed_range_max']:.3f}\ndex at most "
            f"({h['seed_range_max_case']})" + (f". {middle} Monotonicity violations: " if middle else
                                                 "; monotonicity violations: ") + violations +
            "\nDefinitions and the whole book's table: [compute page](../book/compute.ipynb)." +
            (f" {after}" if after else "") + "\n```")


def floor_text(health: dict, test_sizes: str) -> str:
    """The sentences of :func:`health_box` on the seed-range floor that small test sets of ``test_sizes``
    (``"lo-hi"`` clusters) set, from :func:`page_health` with a store."""
    return (f"Its test sets hold\n{test_sizes} clusters, and on them even networks of equal skill differ: by\n"
            f"{health['seed_range_floor_p90']:.3f} dex at the 90th percentile when each cluster's errors are "
            f"shuffled among\nthe seeds; {health['beyond_floor']} case(s) differ beyond that (about\n"
            f"{health['beyond_floor_by_chance']} would by chance).")
