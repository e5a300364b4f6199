"""Scores of the study: scatter (1.49 x median absolute deviation, dex), the null predictor, relative predictive
power, subset scores, and bootstrap confidence intervals."""
from __future__ import annotations

import numpy as np

SCATTER_FACTOR = 1.49
EXTREME_LOG_AGE = (7.0, 9.5)


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


def seed_ci(values, n_boot: int = 2000, level: float = 0.68, seed: int = 0) -> tuple[float, float]:
    """Bootstrap confidence interval of the mean over independently trained seeds."""
    v = np.asarray(values, float)
    if v.size < 2:
        return float(v.mean()) if v.size else float("nan"), float(v.mean()) if v.size else float("nan")
    rng = np.random.default_rng(seed)
    m = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    q = (1 - level) / 2
    return float(np.quantile(m, q)), float(np.quantile(m, 1 - q))


def score_set(predicted, reference, train_log_ages) -> dict[str, float]:
    """All scores of one prediction set: scatter, null, power, and the extreme / non-extreme subsets."""
    p = np.asarray(predicted, float)
    r = np.asarray(reference, float)
    s = scatter_dex(p, r)
    null = null_scatter_dex(train_log_ages, r)
    ext = extreme_mask(r)
    lo, hi = bootstrap_ci(p, r)
    return {
        "scatter_dex": s, "null_scatter_dex": null, "predictive_power_pct": predictive_power_pct(s, null),
        "scatter_ci_lo": lo, "scatter_ci_hi": hi,
        "scatter_extreme_dex": scatter_dex(p[ext], r[ext]), "scatter_nonextreme_dex": scatter_dex(p[~ext], r[~ext]),
        "n": int(len(r)), "n_extreme": int(ext.sum()),
    }
