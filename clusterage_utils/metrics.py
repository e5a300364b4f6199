"""Scores of the study: scatter (1.49 x median absolute deviation, dex), the null predictor, relative predictive
power, subset scores, and bootstrap confidence intervals."""
from __future__ import annotations

import numpy as np

__all__ = ["SCATTER_FACTOR", "EXTREME_LOG_AGE", "CASE_COLUMNS", "scatter_dex", "null_scatter_dex",
           "predictive_power_pct", "extreme_mask", "bootstrap_ci", "seed_ci", "score_set",
           "summarise_seeds", "compare_masking_methods", "paired_difference", "prediction_matrix",
           "significance_table", "disagreements", "recovery_by_age_bin"]

SCATTER_FACTOR = 1.49
EXTREME_LOG_AGE = (7.0, 9.5)
#: The columns that name a case in score frames (one row per model): what :func:`summarise_seeds` groups by.
CASE_COLUMNS = ("case", "base_case", "input", "sample", "mask", "diameter", "diameter_unit", "labels", "group",
                "masking")


def scatter_dex(predicted, reference) -> float:
    """1.49 x median(|predicted - reference|), in dex (robust sigma for Gaussian residuals)."""
    d = np.abs(np.asarray(predicted, float) - np.asarray(reference, float))
    return float(SCATTER_FACTOR * np.median(d)) if d.size else float("nan")


def null_scatter_dex(train_log_ages, reference) -> float:
    """Scatter of the null predictor: the training-set mean age predicted for every cluster."""
    return scatter_dex(np.full(len(reference), np.mean(train_log_ages)), reference)


def predictive_power_pct(scatter: float, null: float) -> float:
    """Relative predictive power, 100 (null^2 - scatter^2) / null^2 (%): 0 = no better than the null."""
    return float(100.0 * (null**2 - scatter**2) / null**2)


def extreme_mask(log_ages) -> np.ndarray:
    """True for extreme ages (log age < 7 or > 9.5), the study's degenerate ends."""
    a = np.asarray(log_ages)
    return (a < EXTREME_LOG_AGE[0]) | (a > EXTREME_LOG_AGE[1])


def bootstrap_ci(predicted, reference, n_boot: int = 1000, level: float = 0.68, seed: int = 0) -> tuple[float, float]:
    """Bootstrap confidence interval of the scatter over test clusters (percentile method)."""
    p = np.asarray(predicted, float)
    r = np.asarray(reference, float)
    if p.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(p), (n_boot, len(p)))
    s = SCATTER_FACTOR * np.median(np.abs(p[idx] - r[idx]), axis=1)
    q = (1 - level) / 2
    return float(np.quantile(s, q)), float(np.quantile(s, 1 - q))


def seed_ci(values, level: float = 0.68) -> tuple[float, float]:
    """Confidence interval of the mean over independently trained seeds: Student-t on the seed mean,
    mean ± t_{(1+level)/2, n-1} x std / sqrt(n).

    Honest for the 2-5 seeds of a profile (a bootstrap over 2-3 values is degenerate: with 2 it can only return
    the values themselves). With one seed the interval has zero width (no information on training noise).
    """
    from scipy import stats

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, m
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m - half, m + half


def score_set(predicted, reference, train_log_ages, null_prediction=None) -> dict[str, float]:
    """All scores of one prediction set: scatter, null, power, and the extreme / non-extreme subsets.

    ``null_prediction``: the null predictor's prediction per cluster, when it is not one training mean for all
    (K-fold evaluation: each fold's own training mean); default the mean of ``train_log_ages``."""
    p = np.asarray(predicted, float)
    r = np.asarray(reference, float)
    s = scatter_dex(p, r)
    null = (null_scatter_dex(train_log_ages, r) if null_prediction is None
            else scatter_dex(np.asarray(null_prediction, float), r))
    ext = extreme_mask(r)
    lo, hi = bootstrap_ci(p, r)
    return {
        "scatter_dex": s, "null_scatter_dex": null, "predictive_power_pct": predictive_power_pct(s, null),
        "scatter_ci_lo": lo, "scatter_ci_hi": hi,
        "scatter_extreme_dex": scatter_dex(p[ext], r[ext]), "scatter_nonextreme_dex": scatter_dex(p[~ext], r[~ext]),
        "n": int(len(r)), "n_extreme": int(ext.sum()),
    }


def summarise_seeds(scores, by=CASE_COLUMNS):
    """Aggregate store rows over seeds: mean and std of train / val / test scatter, the null and the predictive
    power per case (pandas in, pandas out).

    ``test_ci_lo`` / ``test_ci_hi`` is a 68 % interval of the mean test scatter combining the spread over seeds
    (``test_seed_ci_*``: Student-t on the seed mean, :func:`seed_ci`) and the test-set bootstrap of each run (which
    clusters happen to be in the test set), in quadrature: with one seed it is the bootstrap interval alone.
    """
    import pandas as pd

    df = scores.copy()
    df["group"] = df["group"].fillna("all") if "group" in df else "all"
    df["masking"] = df["masking"].fillna("retrain") if "masking" in df else "retrain"
    if "diameter_unit" in df:
        df["diameter_unit"] = df["diameter_unit"].fillna("px")
    by = [b for b in by if b in df.columns]
    out = []
    for key, g in df.groupby(by, dropna=False, sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["n_seeds"] = len(g)
        for s in ("train", "val", "test"):
            v = g[f"{s}_scatter_dex"].to_numpy(float)
            row[f"{s}_scatter_mean"] = float(v.mean())
            row[f"{s}_scatter_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        # uncertainty of the mean test scatter: seeds (training noise) and the test-set bootstrap (which clusters
        # happen to be in the test set), added in quadrature on each side
        m = row["test_scatter_mean"]
        s_lo, s_hi = seed_ci(g["test_scatter_dex"])
        b_lo = float((g["test_scatter_dex"] - g["test_scatter_ci_lo"]).clip(lower=0).mean())
        b_hi = float((g["test_scatter_ci_hi"] - g["test_scatter_dex"]).clip(lower=0).mean())
        row["test_seed_ci_lo"], row["test_seed_ci_hi"] = s_lo, s_hi
        row["test_ci_lo"] = m - float(np.hypot(max(m - s_lo, 0.0), b_lo))
        row["test_ci_hi"] = m + float(np.hypot(max(s_hi - m, 0.0), b_hi))
        row["null_scatter_dex"] = float(g["null_scatter_dex"].mean())
        row["predictive_power_pct"] = predictive_power_pct(row["test_scatter_mean"], row["null_scatter_dex"])
        row["n_train"], row["n_test"] = int(g["n_train"].iloc[0]), int(g["n_test"].iloc[0])
        if "test_scatter_vs_true_dex" in g:
            row["test_scatter_vs_true_mean"] = float(g["test_scatter_vs_true_dex"].mean())
        out.append(row)
    return pd.DataFrame(out)


def compare_masking_methods(summary, scores=None):
    """Amortised against retrained masking curves, per (input, sample) panel.

    Returns one row per panel: the mean and max |test scatter difference| over the shared diameters (dex), the
    diameter of the largest difference and its sign (``worst_diff_dex``: amortised - retrained; > 0: the amortised
    network is worse there), the mean seed spread (std) of the two methods, whether the curves agree within that
    spread (mean |diff| <= mean spread), and - given the per-run ``scores`` - the compute speed-up (total training
    time, retrained / amortised).
    """
    import pandas as pd

    from .sweeps import record_sweep_kinds

    s = summary.copy()
    s["mask_kind"] = record_sweep_kinds(s["mask"])
    rows = []
    for (inp, sample, kind), g in s[s["labels"] == "reference"].groupby(["input", "sample", "mask_kind"]):
        r = g[g["masking"] == "retrain"].set_index("diameter")
        a = g[g["masking"] == "amortised"].set_index("diameter")
        common = r.index.intersection(a.index)
        if len(common) == 0:
            continue
        signed = a.loc[common, "test_scatter_mean"] - r.loc[common, "test_scatter_mean"]
        diff = signed.abs()
        spread = float(pd.concat([r.loc[common, "test_scatter_std"], a.loc[common, "test_scatter_std"]]).mean())
        row = {"input": inp, "sample": sample, "mask": kind, "n_diameters": len(common),
               "mean_abs_diff_dex": float(diff.mean()), "max_abs_diff_dex": float(diff.max()),
               "worst_diameter": float(diff.idxmax()), "worst_diff_dex": float(signed[diff.idxmax()]),
               "mean_seed_spread_dex": spread, "agrees": bool(diff.mean() <= spread)}
        if scores is not None:
            sc = scores.copy()
            sc["masking"] = sc["masking"].fillna("retrain") if "masking" in sc else "retrain"
            sel = (sc["input"] == inp) & (sc["sample"] == sample) & sc["diameter"].isin(common) & \
                  (sc["labels"] == "reference") & record_sweep_kinds(sc["mask"]).eq(kind)
            t_r = sc.loc[sel & (sc["masking"] == "retrain"), "wall_time_s"].sum()
            t_a = sc.loc[sel & (sc["masking"] == "amortised"), "wall_time_s"].sum()
            row["retrain_time_s"], row["amortised_time_s"] = float(t_r), float(t_a)
            row["speedup"] = float(t_r / t_a) if t_a > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(pred_a, pred_b, reference, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Is case A's scatter different from case B's on the *same* test clusters?

    Bootstraps the test clusters jointly for both predictions (paired), so the common difficulty of each cluster
    cancels. ``pred_a`` / ``pred_b`` are (n,) or (n_seeds, n): with several seeds, a resample's scatter pools the
    seeds' residuals of the resampled clusters (seed noise then enters the interval too). Returns the difference of
    scatters (A - B, dex), its confidence interval and a two-sided bootstrap p-value (the share of resamples on
    the other side of zero, doubled).
    """
    a = np.atleast_2d(np.asarray(pred_a, float))
    b = np.atleast_2d(np.asarray(pred_b, float))
    r = np.asarray(reference, float)
    if not (a.shape[1] == b.shape[1] == len(r)):
        raise ValueError(f"paired_difference needs predictions of the same clusters: got {a.shape[1]}, "
                         f"{b.shape[1]} and {len(r)} clusters")
    ra, rb = np.abs(a - r), np.abs(b - r)                         # (seeds, n) absolute residuals
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(r), (n_boot, len(r)))
    da = SCATTER_FACTOR * np.median(ra[:, idx].transpose(1, 0, 2).reshape(n_boot, -1), axis=1)
    db = SCATTER_FACTOR * np.median(rb[:, idx].transpose(1, 0, 2).reshape(n_boot, -1), axis=1)
    d = da - db
    q = (1 - level) / 2
    p = 2 * min((d <= 0).mean(), (d >= 0).mean())
    return {"diff_dex": float(SCATTER_FACTOR * (np.median(ra) - np.median(rb))), "ci_lo": float(np.quantile(d, q)),
            "ci_hi": float(np.quantile(d, 1 - q)), "p_value": float(min(1.0, p)), "n": int(len(r)),
            "n_seeds": (int(a.shape[0]), int(b.shape[0]))}


def prediction_matrix(store, keys, set_name: str = "test"):
    """Predictions of several seeds of one case on the same clusters: (n_seeds, n) array, the labels (n,),
    the truth (n,) if known, and the cluster index (n,). Raises if the seeds' test sets differ."""
    frames = [store.predictions(k) for k in keys]
    frames = [f[f["set"] == set_name].sort_values("index").reset_index(drop=True) for f in frames]
    idx = frames[0]["index"].to_numpy()
    for f in frames[1:]:
        if not np.array_equal(f["index"].to_numpy(), idx):
            raise ValueError("the seeds of this case were evaluated on different clusters; compare them one by one")
    preds = np.stack([f["pred"].to_numpy(float) for f in frames])
    truth = frames[0]["true_log_age"].to_numpy(float) if "true_log_age" in frames[0] else None
    return preds, frames[0]["label"].to_numpy(float), truth, idx


def significance_table(store, scores, pairs, level: float = 0.95, n_boot: int = 2000):
    """Paired significance of differences between cases, on the same test clusters.

    Parameters
    ----------
    store : ResultsStore
    scores : pandas.DataFrame
        Store rows (``case``, ``key``) of the cases, all seeds.
    pairs : list of (str, str)
        (case A, case B); ``"null"`` as B compares A with the null predictor (the training-mean age).
    """
    import pandas as pd

    rows = []
    for a, b in pairs:
        ka = scores.loc[scores["case"] == a, "key"].tolist()
        if not ka:
            continue
        pa, lab, _, idx = prediction_matrix(store, ka)
        if b == "null":
            pb = np.full((1, len(lab)), _train_mean(store, ka[0]))
        else:
            kb = scores.loc[scores["case"] == b, "key"].tolist()
            if not kb:
                continue
            pb, lab_b, _, idx_b = prediction_matrix(store, kb)
            if not np.array_equal(idx, idx_b):
                raise ValueError(f"{a} and {b} have different test clusters (different samples or splits); "
                                 f"a paired comparison needs the same clusters")
        r = paired_difference(pa, pb, lab, n_boot=n_boot, level=level)
        rows.append({"case_a": a, "case_b": b, "scatter_a_dex": scatter_dex(pa.ravel(), np.tile(lab, len(pa))),
                     "scatter_b_dex": scatter_dex(pb.ravel(), np.tile(lab, len(pb))), **r,
                     "significant": bool(r["ci_lo"] > 0 or r["ci_hi"] < 0)})
    out = pd.DataFrame(rows)
    out.attrs["level"] = level
    return out


def _train_mean(store, key: str) -> float:
    p = store.predictions(key)
    return float(p.loc[p["set"] == "train", "label"].mean())


def disagreements(predictions, n_sigma: float = 3.0):
    """Test clusters whose CNN age and reference age differ by more than ``n_sigma`` robust sigmas.

    ``predictions`` is a store frame (``set, label, pred`` and optionally ``true_log_age``); sigma is the test
    scatter (1.49 x median absolute residual). Adds ``residual_dex`` and, on the mock, which of the two ages is
    closer to the truth (``closer_to_truth``: ``cnn`` or ``reference``).
    """
    t = predictions[predictions["set"] == "test"].copy()
    sigma = scatter_dex(t["pred"], t["label"])
    t["residual_dex"] = t["pred"] - t["label"]
    out = t[np.abs(t["residual_dex"]) > n_sigma * sigma].copy()
    if "true_log_age" in out:
        out["closer_to_truth"] = np.where(np.abs(out["pred"] - out["true_log_age"]) <
                                          np.abs(out["label"] - out["true_log_age"]), "cnn", "reference")
    out.attrs["sigma_dex"] = sigma
    return out.sort_values("residual_dex", key=np.abs, ascending=False)


def recovery_by_age_bin(predictions, bins=(6.0, 7.0, 8.0, 9.0, 9.5, 10.5), n_boot: int = 1000, seed: int = 0):
    """Who recovers the true age better, the CNN or the SED-fit reference? Per bin of *true* log age (mock only).

    ``predictions`` is a store frame with ``set, label, pred, true_log_age`` (several seeds may be concatenated).
    Returns one row per bin: n, the scatter of CNN - truth and of reference - truth (dex) with 68 % bootstrap
    intervals, and the median signed offsets (bias).
    """
    import pandas as pd

    t = predictions[predictions["set"] == "test"]
    if "true_log_age" not in t:
        raise ValueError("recovery_by_age_bin needs the mock survey's true ages (column true_log_age)")
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        g = t[(t["true_log_age"] >= lo) & (t["true_log_age"] < hi)]
        row = {"true_log_age_bin": f"{lo:g}-{hi:g}", "n": len(g)}
        for name, col in (("cnn", "pred"), ("reference", "label")):
            row[f"{name}_scatter_dex"] = scatter_dex(g[col], g["true_log_age"])
            row[f"{name}_ci_lo"], row[f"{name}_ci_hi"] = bootstrap_ci(g[col], g["true_log_age"], n_boot=n_boot,
                                                                      seed=seed)
            row[f"{name}_bias_dex"] = float(np.median(g[col] - g["true_log_age"])) if len(g) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
