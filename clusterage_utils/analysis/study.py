"""The study's own runs on real data: its released per-cluster predictions, read, re-scored and compared.

Real data, not the mock survey: the predictions of the study's published example models (5 models each for 15
configurations) on the 8,651 real PHANGS-HST clusters, joined to the clusters' SED ages and the study's splits
(``data/study_released_predictions.csv.gz``; provenance in ``data/study_released_predictions.md``). Every "study"
number the book shows is computed here from these predictions with :mod:`~clusterage_utils.metrics`, never typed.
The 16th configuration the study reports (five-band, restricted, keep-centre 12 px) has no per-cluster file; its
score comes from the released-runs table (:func:`~clusterage_utils.survey.reference.study_scatter`) and is marked so.

Cite the study and its code repository (:data:`CITATION`) wherever these numbers are shown; the repository states
no licence.
"""
from __future__ import annotations

import functools
import gzip
import os
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.experiments import study_cases
from ..metrics import (
    SCATTER_FACTOR,
    bootstrap_ci,
    null_scatter_dex,
    paired_difference,
    predictive_power_pct,
    scatter_dex,
)
from ..sweeps import MaskKind

__all__ = ["CITATION", "REAL_DATA_LABEL", "StudyDataError", "study_predictions", "study_configurations",
           "study_model_scores", "study_case_scores", "released_runs_check", "study_prediction_matrix",
           "study_comparisons", "study_significance", "power_by_sample", "scatter_by_age_bin",
           "scatter_by_galaxy", "study_disagreements", "violations_in_study", "violation_numbers",
           "study_seed_ranges"]

CITATION = ("the study (To What Extent Are Star Cluster Ages Encoded in Their Environments?) and its code "
            "repository, github.com/JavierVianaAi/star_clusters_ages_1 (Viana 2025)")
REAL_DATA_LABEL = "REAL DATA: the study's released runs (PHANGS-HST)"
DATA_FILE = "study_released_predictions.csv.gz"
ID_COLUMNS = ("cluster_id", "galaxy_id", "log_age", "split_full", "split_restricted")
SPLITS = ("train", "val", "test")


class StudyDataError(ValueError):
    """The released-predictions table is malformed; the message names the file and the column."""


def _case(config: str) -> tuple[str, dict]:
    """``white_light__full__mask_centre__24`` -> the book's case name and its fields (diameters in px)."""
    from ..engine.experiments import case_name

    inp, sample, mask, diam = config.split("__")
    d = int(diam) if mask != MaskKind.NONE else 0
    return case_name(inp, sample, mask, d), {"input": inp, "sample": sample, "mask": mask, "diameter": d,
                                              "diameter_unit": "px"}


def _read_table(path: Path) -> pd.DataFrame:
    try:
        wide = pd.read_csv(path, dtype={"galaxy_id": str, "split_full": str, "split_restricted": str})
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise StudyDataError(f"{path}: cannot read the released-predictions table ({type(e).__name__}: {e}); "
                             f"the file is truncated or not a gzip CSV - restore it from the package") from e
    missing = [c for c in ID_COLUMNS if c not in wide]
    if missing:
        raise StudyDataError(f"{path}: missing column(s) {missing}; the table needs {list(ID_COLUMNS)} and one "
                             f"column per model, INPUT__SAMPLE__MASK__DIAMETER__mK")
    for c in ("cluster_id", "log_age"):
        if not pd.api.types.is_numeric_dtype(wide[c]) or wide[c].isna().any():
            raise StudyDataError(f"{path}: column {c!r} must be numeric with no empty value")
    bad = sorted(set(wide["split_full"].dropna()) - set(SPLITS))
    if bad or wide["split_full"].isna().any():
        raise StudyDataError(f"{path}: column 'split_full' must hold train / val / test for every row, found {bad}")
    return wide


@functools.lru_cache(maxsize=2)
def _tidy(path: str) -> pd.DataFrame:
    p = Path(path)
    wide = _read_table(p)
    model_cols = [c for c in wide.columns if c not in ID_COLUMNS]
    if not model_cols:
        raise StudyDataError(f"{p}: no prediction columns (INPUT__SAMPLE__MASK__DIAMETER__mK)")
    frames = []
    for col in model_cols:
        try:
            config, model = col.rsplit("__m", 1)
            case, fields = _case(config)
            model = int(model)
        except ValueError:
            raise StudyDataError(f"{p}: column {col!r} is not INPUT__SAMPLE__MASK__DIAMETER__mK") from None
        pred = wide[col]
        if not pd.api.types.is_numeric_dtype(pred):
            raise StudyDataError(f"{p}: column {col!r} holds non-numeric predictions")
        split = wide["split_full"] if fields["sample"] == "full" else wide["split_restricted"]
        ok = pred.notna()
        if not ok.any():
            raise StudyDataError(f"{p}: column {col!r} holds no prediction")
        if (ok & split.isna()).any():
            raise StudyDataError(f"{p}: column {col!r} has predictions for clusters outside its sample")
        frames.append(pd.DataFrame({
            "cluster_id": wide.loc[ok, "cluster_id"].to_numpy(), "galaxy_id": wide.loc[ok, "galaxy_id"].to_numpy(),
            "row": np.nonzero(ok.to_numpy())[0], "split": split[ok].to_numpy(),
            "label": wide.loc[ok, "log_age"].to_numpy(float), "configuration": case, **fields, "model": model,
            "prediction": pred[ok].to_numpy(float)}))
    out = pd.concat(frames, ignore_index=True)
    for c in ("galaxy_id", "split", "configuration", "input", "sample", "mask"):
        out[c] = out[c].astype("category")
    return out


def study_predictions(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The study's released predictions as a tidy frame: one row per (cluster, configuration, model).

    Parameters
    ----------
    path : path-like, optional
        The released-predictions table (default: the copy shipped in the package).

    Returns
    -------
    pandas.DataFrame
        ``cluster_id, galaxy_id, row`` (the cluster's position in the study's file), ``split`` (train / val /
        test of the configuration's sample), ``label`` (SED log age), ``configuration`` (the book's case name,
        e.g. ``white_light_full_mask_centre_24``), ``input, sample, mask, diameter, diameter_unit`` (px),
        ``model`` (0-4) and
        ``prediction`` (log age).

    Raises
    ------
    StudyDataError
        If the table is truncated or malformed, naming the file and the column.
    """
    if path is None:
        with resources.as_file(resources.files("clusterage_utils").joinpath("data", DATA_FILE)) as p:
            return _tidy(str(p)).copy()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no released-predictions table there")
    return _tidy(str(p.resolve())).copy()


def study_configurations(preds: pd.DataFrame | None = None) -> pd.DataFrame:
    """The 15 configurations with per-cluster predictions: ``configuration, input, sample, mask, diameter
    (px), n_models``."""
    preds = study_predictions() if preds is None else preds
    return (preds.groupby("configuration", observed=True)
            .agg(input=("input", "first"), sample=("sample", "first"), mask=("mask", "first"),
                 diameter=("diameter", "first"), n_models=("model", "nunique")).reset_index())


def study_model_scores(preds: pd.DataFrame | None = None, n_boot: int = 1000) -> pd.DataFrame:
    """Per configuration and model: test scatter (with its 68 % test-bootstrap interval), null, predictive power
    and split sizes, computed with the package's score functions (the null is the training-set mean age)."""
    preds = study_predictions() if preds is None else preds
    rows = []
    for (cfg, model), g in preds.groupby(["configuration", "model"], observed=True):
        test, train = g[g["split"] == "test"], g[g["split"] == "train"]
        s = scatter_dex(test["prediction"], test["label"])
        null = null_scatter_dex(train["label"], test["label"])
        lo, hi = bootstrap_ci(test["prediction"], test["label"], n_boot=n_boot)
        rows.append({"configuration": cfg, "model": model, "test_scatter_dex": s, "test_ci_lo": lo, "test_ci_hi": hi,
                     "null_scatter_dex": null, "predictive_power_pct": predictive_power_pct(s, null),
                     **{f"n_{k}": int((g["split"] == k).sum()) for k in SPLITS}})
    return pd.DataFrame(rows)


def study_case_scores(preds: pd.DataFrame | None = None, include_unreleased: bool = True) -> pd.DataFrame:
    """Per configuration: mean and spread (std over the 5 models) of the test scatter, the 68 % interval of the
    mean (model spread and test bootstrap in quadrature), the null and the predictive power.

    ``include_unreleased`` adds the 16th configuration from the released-runs table (no per-cluster file; its
    interval is its model spread alone) with ``source="released-runs table"``; the others have
    ``source="per-cluster predictions"``.
    """
    from ..survey.reference import study_scatter

    per = study_model_scores(preds)
    rows = []
    for cfg, g in per.groupby("configuration"):
        m, sd = g["test_scatter_dex"].mean(), g["test_scatter_dex"].std(ddof=1)
        b_lo = (g["test_scatter_dex"] - g["test_ci_lo"]).mean()
        b_hi = (g["test_ci_hi"] - g["test_scatter_dex"]).mean()
        se = sd / np.sqrt(len(g))
        rows.append({"case": cfg, **_case_fields(cfg), "n_models": len(g), "test_scatter_mean": m,
                     "test_scatter_std": sd, "test_ci_lo": m - np.hypot(se, b_lo), "test_ci_hi": m + np.hypot(se, b_hi),
                     "null_scatter_dex": g["null_scatter_dex"].mean(),
                     "predictive_power_pct": predictive_power_pct(m, g["null_scatter_dex"].mean()),
                     "n_train": int(g["n_train"].iloc[0]), "n_val": int(g["n_val"].iloc[0]),
                     "n_test": int(g["n_test"].iloc[0]), "source": "per-cluster predictions"})
    out = pd.DataFrame(rows)
    if include_unreleased:
        t = study_scatter()
        t["case"] = study_cases()
        extra = t[~t["case"].isin(out["case"])]
        for r in extra.itertuples():
            se = r.test_scatter_dex_std / np.sqrt(r.n_models)
            rows.append({"case": r.case, **_case_fields(r.case), "n_models": r.n_models,
                         "test_scatter_mean": r.test_scatter_dex_mean, "test_scatter_std": r.test_scatter_dex_std,
                         "test_ci_lo": r.test_scatter_dex_mean - se, "test_ci_hi": r.test_scatter_dex_mean + se,
                         "null_scatter_dex": r.null_scatter_dex, "predictive_power_pct": r.predictive_power_pct,
                         "n_train": r.n_train, "n_val": r.n_val, "n_test": r.n_test,
                         "source": "released-runs table"})
        out = pd.DataFrame(rows)
    return out.sort_values(["sample", "input", "mask", "diameter"]).reset_index(drop=True)


def released_runs_check(case_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Re-scored configurations against the study's released-runs table: mean test scatter, its spread over the
    models (population std, as that table gives it), the null and the split sizes, side by side, with the
    absolute difference of the mean scatter (dex). Only configurations with per-cluster predictions."""
    from ..survey.reference import study_scatter

    cs = study_case_scores(include_unreleased=False) if case_scores is None else case_scores
    cs = cs[cs["source"] == "per-cluster predictions"]
    t = study_scatter()
    t["case"] = study_cases()
    m = cs.merge(t, on="case", suffixes=("", "_table"))
    out = pd.DataFrame({"case": m["case"], "rescored_dex": m["test_scatter_mean"],
                        "table_dex": m["test_scatter_dex_mean"],
                        "abs_diff_dex": (m["test_scatter_mean"] - m["test_scatter_dex_mean"]).abs(),
                        "rescored_null_dex": m["null_scatter_dex"], "table_null_dex": m["null_scatter_dex_table"],
                        "n_train": m["n_train"], "n_val": m["n_val"], "n_test": m["n_test"]})
    return out


def _case_fields(case: str) -> dict:
    from ..engine.experiments import parse_case

    e = parse_case(case)
    return {"input": e.input, "sample": e.sample, "mask": e.mask, "diameter": e.diameter, "diameter_unit": "px"}


def study_prediction_matrix(preds: pd.DataFrame, configuration: str, split: str = "test"
                            ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Predictions of all models of a configuration on one split: (n_models, n) array, labels (n,), and the
    clusters (``cluster_id, galaxy_id, row``), in file order."""
    g = preds[(preds["configuration"] == configuration) & (preds["split"] == split)]
    if g.empty:
        raise ValueError(f"no released predictions for configuration {configuration!r}; configurations: "
                         f"{sorted(preds['configuration'].unique())}")
    wide = g.pivot(index="row", columns="model", values="prediction").sort_index()
    info = g[g["model"] == g["model"].min()].set_index("row").loc[wide.index]
    return wide.to_numpy().T, info["label"].to_numpy(float), info[["cluster_id", "galaxy_id"]].reset_index()



def study_seed_ranges(test_sizes, n_seeds: int = 3, draws: int = 200, seed: int = 0,
                      preds: pd.DataFrame | None = None) -> pd.DataFrame:
    """Seed ranges the study's own networks show on test sets of a given size: a real-data yardstick.

    For each configuration with per-cluster predictions and each size, ``draws`` times: a random test subset of
    that many clusters (without replacement) and ``n_seeds`` of the configuration's models drawn at random; the
    range (max - min) of their scatters (1.49 x median absolute error) on that subset. The study's networks are
    full width and trained on the whole PHANGS-HST sample, so the result is what seeds of well-trained networks
    differ by when scored on a test set as small as a book profile's.

    Parameters
    ----------
    test_sizes : sequence of int
        Test-set sizes (each size gets ``draws`` draws per configuration; a configuration whose test set is
        smaller than a size is left out of that size's draws).
    n_seeds : int
        Models per draw (the book's seeds per case).
    draws : int
        Draws per configuration and size.
    seed : int
        Seed of the draws.
    preds : pandas.DataFrame, optional
        :func:`study_predictions` (read when not given).

    Returns
    -------
    pandas.DataFrame
        ``configuration``, ``n_test``, ``seed_range_dex``: one row per draw.

    Raises
    ------
    ValueError
        When a size is below 1 or above every configuration's test set, or ``n_seeds`` is below 2 or above a
        configuration's models.
    """
    preds = study_predictions() if preds is None else preds
    sizes = [int(n) for n in test_sizes]
    largest = int(preds[preds["split"] == "test"].groupby("configuration", observed=True)["row"].nunique().max())
    if not sizes or min(sizes) < 1 or max(sizes) > largest:
        raise ValueError(f"test sizes must be 1-{largest} (the study's largest test set), got {sizes}")
    rng = np.random.default_rng(seed)
    frames = []
    for cfg in sorted(preds["configuration"].unique()):
        pred, label, _ = study_prediction_matrix(preds, cfg)
        if not 2 <= n_seeds <= len(pred):
            raise ValueError(f"n_seeds must be 2-{len(pred)} (the models of {cfg!r}), got {n_seeds}")
        errors = np.abs(pred - label)
        for n in sizes:
            if n > errors.shape[1]:
                continue
            models = np.argsort(rng.random((draws, len(pred))), axis=1)[:, :n_seeds, None]
            clusters = np.argsort(rng.random((draws, errors.shape[1])), axis=1)[:, None, :n]
            scatter = SCATTER_FACTOR * np.median(errors[models, clusters], axis=2)
            frames.append(pd.DataFrame({"configuration": cfg, "n_test": n, "seed_range_dex": np.ptp(scatter, axis=1)}))
    return pd.concat(frames, ignore_index=True)

#: The comparisons the study's text makes between its configurations, with its words (Sections V.2 and VI).
STUDY_CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("white_light_full_none", "five_band_full_none",
     "Case 2 collapses the five filters into a single stacked white-light image, yielding a scatter of 0.8 dex. "
     "As expected, performance is worse than Case 1, since color information is removed."),
    ("white_light_full_none", "null",
     "the model retains enough signal from cluster morphology and environment to perform significantly better "
     "than the null predictor baseline (1.2 dex)."),
    ("white_light_full_keep_centre_24", "white_light_full_keep_centre_12",
     "Case 3 performs slightly better (0.74 dex vs. 0.8 dex for Case 4), but both are comparable to Case 2."),
    ("white_light_full_keep_centre_24", "white_light_full_none",
     "excluding the environment beyond 12-24 pixels produces only a modest degradation in performance, with both "
     "masked cases yielding scatter comparable to the white-light image."),
    ("white_light_full_mask_centre_24", "white_light_full_mask_centre_12",
     "In Case 5, the central 12 pixels are masked, yielding a scatter of 0.9 dex. In Case 6, the mask extends to "
     "24 pixels, fully excluding the cluster ... with a scatter of 1.0 dex."),
    ("white_light_full_mask_centre_12", "white_light_full_none",
     "Cases 5 and 6 apply the mask inverse, which now removes the cluster from the white light image, and forces "
     "the model to only use information in the environment."),
    ("white_light_full_mask_centre_24", "null",
     "Although the overall scatters are large, both cases still perform better than the baseline (1.2 dex), "
     "indicating that the environment alone does carry some age-predictive signal."),
    ("five_band_full_keep_centre_12", "five_band_full_none",
     "In the full sample of cluster ages, the same pattern holds: Case 2 reaches 0.33 dex, better than Case 1 "
     "at 0.45 dex and far better than the 1.2 dex baseline."),
    ("five_band_full_mask_centre_12", "five_band_full_none",
     "We add the results from an additional two cases where the masking experiments have been performed on the "
     "5-filter cutouts."),
    ("white_light_restricted_mask_centre_12", "white_light_restricted_keep_centre_12",
     "In the age-restricted sample, Cases 7 and 8 (which mask out the cluster and retain only the environment "
     "outside 12- and 24-pixel radii) achieve accuracy comparable to the cluster-only Cases 5 and 6, all with "
     "scatters of 0.54 dex."),
    ("white_light_restricted_mask_centre_24", "white_light_restricted_keep_centre_24",
     "This indicates that, once extreme-age clusters are removed, the surrounding environment provides only "
     "limited additional predictive information, carrying roughly the same weight as the cluster alone."),
    ("white_light_restricted_mask_centre_24", "null",
     "In the full-sample experiments, Case 9 provides the fixed-mean predictor baseline with a scatter of 1.2 dex, "
     "while in the restricted-age experiments the corresponding baseline is lower at 0.6 dex."),
)


def study_comparisons() -> pd.DataFrame:
    """:data:`STUDY_CLAIMS` as a frame: ``case_a, case_b, study_says`` (``null`` = the null predictor)."""
    return pd.DataFrame(STUDY_CLAIMS, columns=["case_a", "case_b", "study_says"])


def study_significance(preds: pd.DataFrame | None = None, claims: pd.DataFrame | None = None,
                       level: float = 0.95, n_boot: int = 2000) -> pd.DataFrame:
    """Paired significance of the study's comparisons on the same real test clusters, all 5 models pooled.

    Returns one row per claim: both scatters, the difference (A - B, dex) with its ``level`` bootstrap interval
    and p-value (:func:`~clusterage_utils.metrics.paired_difference`), a verdict and the study's sentence.
    """
    preds = study_predictions() if preds is None else preds
    claims = study_comparisons() if claims is None else claims
    rows = []
    for r in claims.itertuples():
        pa, lab, info = study_prediction_matrix(preds, r.case_a)
        if r.case_b == "null":
            train = preds[(preds["configuration"] == r.case_a) & (preds["split"] == "train") & (preds["model"] == 0)]
            pb = np.full((1, len(lab)), train["label"].mean())
        else:
            pb, lab_b, info_b = study_prediction_matrix(preds, r.case_b)
            if not np.array_equal(info["row"], info_b["row"]):
                raise ValueError(f"{r.case_a} and {r.case_b} have different test clusters")
        d = paired_difference(pa, pb, lab, n_boot=n_boot, level=level)
        verdict = ("A better" if d["ci_hi"] < 0 else "B better" if d["ci_lo"] > 0 else "not distinguishable")
        d["significant"] = verdict != "not distinguishable"
        rows.append({"case_a": r.case_a, "case_b": r.case_b,
                     "scatter_a_dex": scatter_dex(pa.ravel(), np.tile(lab, len(pa))),
                     "scatter_b_dex": scatter_dex(pb.ravel(), np.tile(lab, len(pb))),
                     **d, "verdict": verdict, "study_says": r.study_says})
    out = pd.DataFrame(rows)
    out.attrs["level"] = level
    return out


def power_by_sample(preds: pd.DataFrame | None = None, level: float = 0.95, n_boot: int = 1000,
                    seed: int = 0) -> pd.DataFrame:
    """Relative predictive power on the full and on the restricted sample, for every input / mask / diameter run
    on both, with ``level`` bootstrap intervals (test clusters resampled, all models pooled, the null recomputed
    on each resample). The study: "although the full-sample cases exhibit higher absolute error, their
    predictive-power curves remain higher than those of the restricted set." The two samples have different
    test clusters, so the intervals are independent, not paired."""
    preds = study_predictions() if preds is None else preds
    rng = np.random.default_rng(seed)
    q = (1 - level) / 2
    rows = []
    for cfg, g in preds.groupby("configuration", observed=True):
        pm, lab, _ = study_prediction_matrix(preds, cfg)
        mean = g[(g["split"] == "train") & (g["model"] == g["model"].min())]["label"].mean()
        idx = rng.integers(0, len(lab), (n_boot, len(lab)))
        res = np.abs(pm[:, idx] - lab[idx]).transpose(1, 0, 2).reshape(n_boot, -1)
        s = SCATTER_FACTOR * np.median(res, axis=1)
        null = SCATTER_FACTOR * np.median(np.abs(mean - lab[idx]), axis=1)
        power = 100 * (null**2 - s**2) / null**2
        point = predictive_power_pct(scatter_dex(pm.ravel(), np.tile(lab, len(pm))), scatter_dex(np.full(len(lab),
                                                                                                        mean), lab))
        rows.append({"configuration": cfg, **_case_fields(cfg), "power_pct": point,
                     "power_lo": float(np.quantile(power, q)), "power_hi": float(np.quantile(power, 1 - q))})
    df = pd.DataFrame(rows)
    df["key"] = df["input"] + "_" + df["mask"] + "_" + df["diameter"].astype(str)
    full = df[df["sample"] == "full"].set_index("key")
    res = df[df["sample"] == "restricted"].set_index("key")
    both = full.merge(res, left_index=True, right_index=True, suffixes=("_full", "_restricted"))
    both["verdict"] = np.where(both["power_lo_full"] > both["power_hi_restricted"], "full higher",
                               np.where(both["power_hi_full"] < both["power_lo_restricted"], "restricted higher",
                                        "intervals overlap"))
    cols = ["power_pct_full", "power_lo_full", "power_hi_full", "power_pct_restricted", "power_lo_restricted",
            "power_hi_restricted", "verdict"]
    return both[cols].reset_index().rename(columns={"key": "input_mask_diameter"})


def scatter_by_age_bin(preds: pd.DataFrame | None = None, bins=(6.0, 6.5, 7.0, 8.0, 9.0, 9.5, 10.2),
                       split: str = "test") -> pd.DataFrame:
    """Test scatter per bin of reference age for each configuration (all models pooled), with the null's
    scatter in the bin (the training mean predicted for everyone) and the share of clusters in the bin."""
    preds = study_predictions() if preds is None else preds
    t = preds[preds["split"] == split].copy()
    t["age_bin"] = pd.cut(t["label"], bins, right=False, include_lowest=True)
    means = preds[preds["split"] == "train"].groupby("configuration", observed=True)["label"].mean()
    rows = []
    for (cfg, b), g in t.groupby(["configuration", "age_bin"], observed=True):
        one = g[g["model"] == g["model"].min()]
        rows.append({"configuration": cfg, "age_bin": str(b), "n": len(one),
                     "scatter_dex": scatter_dex(g["prediction"], g["label"]),
                     "null_dex": scatter_dex(np.full(len(one), means[cfg]), one["label"]),
                     "bias_dex": float(np.median(g["prediction"] - g["label"]))})
    return pd.DataFrame(rows)


def scatter_by_galaxy(preds: pd.DataFrame | None = None, configurations=None, split: str = "test") -> pd.DataFrame:
    """Test scatter per galaxy and per distance group of Table 1 (``near``, ``far``, ``other``) for the given
    configurations (all models pooled), with each group's own null (its clusters, the training mean)."""
    from ..survey.reference import galaxies

    preds = study_predictions() if preds is None else preds
    if configurations is not None:
        preds = preds[preds["configuration"].isin(list(configurations))]
    group = galaxies()["distance_group"]
    t = preds[preds["split"] == split].copy()
    t["distance_group"] = t["galaxy_id"].astype(str).map(group).fillna("other")
    means = preds[preds["split"] == "train"].groupby("configuration", observed=True)["label"].mean()
    rows = []
    for level, key in (("galaxy", "galaxy_id"), ("group", "distance_group")):
        for (cfg, name), g in t.groupby(["configuration", key], observed=True):
            one = g[g["model"] == g["model"].min()]
            rows.append({"configuration": cfg, "level": level, "name": str(name), "n": len(one),
                         "scatter_dex": scatter_dex(g["prediction"], g["label"]),
                         "null_dex": scatter_dex(np.full(len(one), means[cfg]), one["label"])})
    return pd.DataFrame(rows)


def study_disagreements(preds: pd.DataFrame | None = None, configuration: str = "five_band_full_none",
                        n_sigma: float = 3.0) -> pd.DataFrame:
    """Real test clusters where the CNN (mean of the 5 models) and the SED age differ by more than ``n_sigma``
    robust sigmas (sigma = the configuration's test scatter of the model mean).

    Returns cluster and galaxy ids, the SED age, the CNN mean age, the models' spread (std), the residual and its
    size in sigmas; ``attrs`` hold ``sigma_dex``, ``n_test`` and the configuration.
    """
    preds = study_predictions() if preds is None else preds
    pm, lab, info = study_prediction_matrix(preds, configuration)
    mean = pm.mean(0)
    sigma = scatter_dex(mean, lab)
    out = info.assign(sed_log_age=lab, cnn_log_age=mean, cnn_models_std_dex=pm.std(0, ddof=1),
                      residual_dex=mean - lab)
    out["n_sigma"] = np.abs(out["residual_dex"]) / sigma
    out = out[out["n_sigma"] > n_sigma].sort_values("n_sigma", ascending=False).reset_index(drop=True)
    out.attrs.update(sigma_dex=sigma, n_test=len(lab), configuration=configuration)
    return out


def violations_in_study(violations: pd.DataFrame, case_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Do the study's released runs show the same monotonicity violation as the mock survey?

    A consistent violation (a case with more masking scoring better, :func:`~.health.
    monotonicity_violations`) is a finding to explain; where the study's own runs on real clusters rank the same two
    cases the same way, it is the study's finding reproduced, not an artefact of the mock or the recipe.

    Parameters
    ----------
    violations : pandas.DataFrame
        Rows of :func:`~.health.monotonicity_violations` (``better``, ``worse``, ...).
    case_scores : pandas.DataFrame, optional
        :func:`study_case_scores` (read from the shipped table when omitted).

    Returns
    -------
    pandas.DataFrame
        ``violations`` with ``study_better_dex`` and ``study_worse_dex`` (the study's mean test scatters of the same
        two cases, NaN where the study has no such case; an amortised case is matched by its diameter) and
        ``study_too`` (the study's runs rank them the same way).
    """
    scores = (study_case_scores() if case_scores is None else case_scores).set_index("case")["test_scatter_mean"]
    out = violations.copy()
    for side in ("better", "worse"):
        names = out[side].astype(str).str.replace("_amortised", "", regex=False)
        out[f"study_{side}_dex"] = names.map(scores).astype(float)
    out["study_too"] = out["study_better_dex"] < out["study_worse_dex"]
    return out


def violation_numbers(violations: pd.DataFrame) -> dict[str, int | str]:
    """The consistent violations of :func:`violations_in_study`, as numbers for a page's prose.

    Parameters
    ----------
    violations : pandas.DataFrame
        :func:`violations_in_study` rows.

    Returns
    -------
    dict
        ``n_viol`` (consistent violations), ``viol_study_too`` (of those, the ones the study's runs rank the same
        way) and ``viol_list`` (one sentence: each case pair with its mock scatters and the study's scatters on
        real clusters, or "none").
    """
    def dex(x: float) -> str:
        return f"{x:.2f}" if x == x else "not run"          # NaN: the study has no such case

    rows = violations.loc[violations["consistent"].astype(bool)] if len(violations) else violations
    text = "; ".join(f"{r.better.replace('_', ' ')} at {r.better_dex:.2f} dex against {r.worse.replace('_', ' ')} "
                     f"at {r.worse_dex:.2f} (the study's runs on real clusters: {dex(r.study_better_dex)} against "
                     f"{dex(r.study_worse_dex)})" for r in rows.itertuples())
    return {"n_viol": len(rows), "viol_study_too": int(rows["study_too"].sum()) if len(rows) else 0,
            "viol_list": text or "none"}
