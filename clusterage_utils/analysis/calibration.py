"""The mock survey measured against the study: the results that calibrate it, those that test it, the network that
measures both, and the comparison of a results store with the study's released runs.

The study's 16 released configurations (:func:`~clusterage_utils.engine.experiments.study_cases`) split in two:

- the **calibration set** (:data:`CALIBRATION_CASES`): five bands, full sample - unmasked, centre hidden (12 px),
  centre kept (12 px). The mock's physical parameters were chosen on these three alone
  (``benchmarks/bench_mock_calibration.py``);
- the **held-out set** (:func:`held_out_cases`): the other 13 (white light, the restricted sample, 24 px), never
  used to choose a parameter.

:func:`compare_with_study` scores any set of mock results against the study by what the study's question needs:
the pairwise orderings of cases (which hides more age information), the correlation of relative predictive power,
and where along the masking sweep the score changes (the share of the change to 24 px that happens by 12 px, the
only sweep points both have).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..engine.experiments import case_name, study_cases
from ..engine.profiles import CPU_RECIPE, Profile, TrainingSettings, get_profile
from ..metrics import predictive_power_pct
from ..survey.reference import study_scatter

__all__ = ["CALIBRATION_CASES", "ORDER_SIGMA", "held_out_cases", "calibration_settings", "calibration_profile",
           "study_table", "mock_table", "store_table", "ordered_pairs", "orderings", "aperture_shares",
           "compare_with_study", "comparison_numbers"]

#: The study's results the mock is calibrated on: five bands, full sample (unmasked, mask 12 px, keep 12 px).
CALIBRATION_CASES = ("five_band_full_none", "five_band_full_mask_centre_12", "five_band_full_keep_centre_12")

#: A pair of the study's cases (same sample) is ordered when their mean scatters differ by more than this many
#: combined spreads over its 5 models, sqrt(std_a^2 + std_b^2); closer pairs are ties the study does not resolve
#: (e.g. the four masked white-light restricted cases, 0.527-0.534 dex). 46 of the 56 same-sample pairs are ordered.
ORDER_SIGMA = 2.0


def held_out_cases() -> list[str]:
    """The study's configurations the mock was never calibrated on (13 of 16)."""
    return [c for c in study_cases() if c not in CALIBRATION_CASES]


def calibration_settings(width: float, epochs: int = 15, seeds=(0, 1), precision: str | None = None,
                         **changes) -> TrainingSettings:
    """The CPU recipe (:data:`~clusterage_utils.engine.profiles.CPU_RECIPE`) at another width: the network the mock's
    calibration is measured with (``benchmarks/bench_mock_diagnosis.py`` chose its width).

    Parameters
    ----------
    width : float
        Width multiplier (1 = the study's network).
    epochs : int
        Epoch cap of the cosine schedule (early stopping from epoch ``min(8, epochs)``).
    seeds : tuple of int
    precision : str, optional
        Default: ``float32`` at width <= 1/16 (where bfloat16 was slower here), ``mixed_bfloat16`` above
        (``benchmarks/results/mock_cost.csv``: 2.5-5x faster from width 1/8 on an AMX CPU).
    **changes
        Other :class:`~clusterage_utils.engine.profiles.TrainingSettings` fields.
    """
    if precision is None:
        precision = "float32" if width <= 1 / 16 else "mixed_bfloat16"
    recipe = {**CPU_RECIPE, "width": width, "epochs": epochs, "min_epochs": min(CPU_RECIPE["min_epochs"], epochs),
              "precision": precision}
    return TrainingSettings(**{**recipe, **changes}, seeds=tuple(seeds))


def calibration_profile(settings: TrainingSettings, base: str = "laptop") -> Profile:
    """A profile with ``base``'s survey and ``settings``
    (for :func:`~clusterage_utils.engine.experiments.case_experiments`)."""
    return dataclasses.replace(get_profile(base), name=f"{base}-calibration", training=settings)


def study_table() -> pd.DataFrame:
    """The study's released runs by case name: ``scatter_dex`` (mean of 5 models), ``scatter_std_dex``,
    ``null_dex``, ``power_pct``, ``input``, ``sample``, ``mask``, ``diameter``, ``set`` (calibration / held-out)."""
    t = study_scatter()
    out = pd.DataFrame({
        "case": [case_name(r.input, r.sample, r.mask, r.diameter_px) for r in t.itertuples()],
        "input": t["input"], "sample": t["sample"], "mask": t["mask"], "diameter": t["diameter_px"].astype(int),
        "scatter_dex": t["test_scatter_dex_mean"], "scatter_std_dex": t["test_scatter_dex_std"],
        "null_dex": t["null_scatter_dex"]})
    out["power_pct"] = [predictive_power_pct(s, n) for s, n in zip(out["scatter_dex"], out["null_dex"])]
    out["set"] = np.where(out["case"].isin(CALIBRATION_CASES), "calibration", "held-out")
    return out.set_index("case")


def mock_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Mock results by case name: ``scatter_dex`` (mean over seeds), ``seed_range_dex``, ``null_dex``, ``power_pct``,
    ``n_seeds``, from store rows (:meth:`~clusterage_utils.engine.store.ResultsStore.scores` or
    :func:`~clusterage_utils.engine.execution.run_experiments`) of one setting: rows with shuffled labels, a
    distance group or amortised masking are left out.

    Raises
    ------
    ValueError
        If no row is left.
    """
    s = scores
    for col, keep in (("labels", "reference"), ("masking", "retrain")):
        if col in s:
            s = s[s[col].fillna(keep) == keep]
    if "group" in s:
        s = s[s["group"].isna()]
    if s.empty:
        raise ValueError("no retrained reference-label results to compare with the study")
    g = s.groupby("case", sort=False)
    out = pd.DataFrame({"scatter_dex": g["test_scatter_dex"].mean(),
                        "seed_range_dex": g["test_scatter_dex"].max() - g["test_scatter_dex"].min(),
                        "null_dex": g["null_scatter_dex"].mean(), "n_seeds": g.size()})
    out["power_pct"] = [predictive_power_pct(a, b) for a, b in zip(out["scatter_dex"], out["null_dex"])]
    return out


def store_table(store, data_path, settings: TrainingSettings) -> pd.DataFrame:
    """:func:`mock_table` of the study's 16 configurations trained with ``settings`` on the cutout file
    ``data_path``, from what the results store holds (missing cases are simply absent).

    Parameters
    ----------
    store : ResultsStore or path-like
    data_path : path-like
        The cutout file the records were trained on (its fingerprint is part of their keys).
    settings : TrainingSettings
        E.g. a profile's ``training`` (the book's networks) or :func:`calibration_settings`.
    """
    from ..engine.experiments import case_experiments
    from ..engine.store import ResultsStore, record_key
    from ..survey.cutouts import open_cutouts

    store = store if isinstance(store, ResultsStore) else ResultsStore(store)
    fp = open_cutouts(data_path).fingerprint()
    exps = case_experiments(study_cases(), calibration_profile(settings))
    keys = [k for k in (record_key(e.hash, fp) for e in exps) if store.has(k)]
    if not keys:
        raise ValueError(f"results store {store.root} holds none of the study's configurations trained with these "
                         f"settings on {data_path}; run them first (e.g. `clusterage run --experiments study`)")
    return mock_table(store.scores(keys))


def ordered_pairs(study: pd.DataFrame | None = None, sigma: float = ORDER_SIGMA) -> pd.DataFrame:
    """The pairs of the study's configurations (same sample) whose order it resolves (:data:`ORDER_SIGMA`).

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b`` (case names, ``a`` the one with the lower scatter), ``study_diff_dex`` (b - a, > 0) and ``set``:
        ``calibration`` (both cases in :data:`CALIBRATION_CASES`), ``held-out`` (neither) or ``mixed``.
    """
    st = study if study is not None else study_table()
    rows = []
    for _, g in st.groupby("sample", sort=False):
        g = g.sort_values("scatter_dex")
        names = list(g.index)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                diff = g.at[b, "scatter_dex"] - g.at[a, "scatter_dex"]
                if diff > sigma * np.hypot(g.at[a, "scatter_std_dex"], g.at[b, "scatter_std_dex"]):
                    n_cal = (a in CALIBRATION_CASES) + (b in CALIBRATION_CASES)
                    rows.append({"a": a, "b": b, "study_diff_dex": diff,
                                 "set": ("held-out", "mixed", "calibration")[n_cal]})
    return pd.DataFrame(rows)


def orderings(mock: pd.DataFrame, study: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`ordered_pairs` with the mock's difference (``mock_diff_dex``, b - a) and whether it has the study's
    sign (``agrees``); pairs with a case the mock table lacks are left out."""
    pairs = ordered_pairs(study)
    pairs = pairs[pairs["a"].isin(mock.index) & pairs["b"].isin(mock.index)].copy()
    pairs["mock_diff_dex"] = mock.loc[pairs["b"], "scatter_dex"].to_numpy() - \
        mock.loc[pairs["a"], "scatter_dex"].to_numpy()
    pairs["agrees"] = pairs["mock_diff_dex"] > 0
    return pairs.reset_index(drop=True)


def aperture_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Where along Fig. 3's inner masking the score changes: per input and sample with the unmasked, 12-px and
    24-px masked cases, the share of the change from 0 to 24 px that happens by 12 px (the sweep points the study
    released; the photometric aperture is 8 px wide). ``table``: :func:`study_table` or :func:`mock_table` rows."""
    rows = []
    for inp in ("five_band", "white_light"):
        for sample in ("full", "restricted"):
            names = [case_name(inp, sample, "none")] + [case_name(inp, sample, "mask_centre", d) for d in (12, 24)]
            if not all(n in table.index for n in names):
                continue
            s0, s12, s24 = (float(table.at[n, "scatter_dex"]) for n in names)
            rows.append({"input": inp, "sample": sample, "unmasked_dex": s0, "mask_12_dex": s12, "mask_24_dex": s24,
                         "share_by_12px": (s12 - s0) / (s24 - s0) if s24 != s0 else float("nan")})
    return pd.DataFrame(rows)


def compare_with_study(mock: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The mock against the study, set by set (calibration, held-out, all).

    Parameters
    ----------
    mock : pandas.DataFrame
        :func:`mock_table` or :func:`store_table`.

    Returns
    -------
    dict
        ``cases``: study and mock side by side per configuration (scatter, null, predictive power, the mock's
        difference); ``pairs``: :func:`orderings`; ``summary``: per set the number of ordered pairs, how many the
        mock reproduces, the correlation of predictive power (Pearson, over the set's configurations) and the
        largest scatter difference; ``apertures``: :func:`aperture_shares` of both.
    """
    st = study_table()
    m = mock[["scatter_dex", "seed_range_dex", "null_dex", "power_pct", "n_seeds"]].rename(columns={
        "scatter_dex": "mock_dex", "null_dex": "mock_null_dex", "power_pct": "mock_power_pct"})
    cases = st.rename(columns={"scatter_dex": "study_dex", "null_dex": "study_null_dex",
                               "power_pct": "study_power_pct"}).join(m, how="inner")
    cases["mock_minus_study_dex"] = cases["mock_dex"] - cases["study_dex"]
    pairs = orderings(mock, st)
    rows = []
    for name, sel, pair_sel in (("calibration", cases["set"] == "calibration", pairs["set"] == "calibration"),
                                ("held-out", cases["set"] == "held-out", pairs["set"] == "held-out"),
                                ("all", cases["set"].notna(), pairs["set"].notna())):
        c, p = cases[sel], pairs[pair_sel]
        rows.append({"set": name, "configurations": len(c), "ordered_pairs": len(p),
                     "pairs_agreeing": int(p["agrees"].sum()),
                     "pairs_agreeing_pct": 100.0 * p["agrees"].mean() if len(p) else float("nan"),
                     "power_correlation": float(np.corrcoef(c["study_power_pct"], c["mock_power_pct"])[0, 1])
                     if len(c) > 2 else float("nan"),
                     "max_abs_diff_dex": float(c["mock_minus_study_dex"].abs().max()) if len(c) else float("nan")})
    ap = aperture_shares(st).merge(aperture_shares(mock), on=["input", "sample"], suffixes=("_study", "_mock"))
    return {"cases": cases, "pairs": pairs, "summary": pd.DataFrame(rows), "apertures": ap}


def comparison_numbers(cmp: dict[str, pd.DataFrame] | None) -> dict[str, float]:
    """The numbers of :func:`compare_with_study` a page quotes, flat (for ``glue_numbers``): per set
    (``calibration``, ``held_out``, ``all``) ``<set>_pairs``, ``<set>_agreeing``, ``<set>_agreeing_pct``,
    ``<set>_power_corr``; per calibration case (``none``, ``mask_centre_12``, ``keep_centre_12``)
    ``<case>_mock_dex`` and ``<case>_study_dex``; per white-light sample ``aperture_<sample>_mock`` and
    ``aperture_<sample>_study`` (share of the change to 24 px by 12 px, %). NaN where a value is missing; for
    ``cmp=None`` (nothing measured) every mock value is NaN, so a page's prose always finds its numbers."""
    if cmp is None:
        return {k: v if k.endswith(("_study_dex", "_study")) else float("nan")
                for k, v in comparison_numbers(compare_with_study(_study_as_mock())).items()}
    out: dict[str, float] = {}
    for r in cmp["summary"].itertuples():
        key = r.set.replace("-", "_")
        out.update({f"{key}_pairs": r.ordered_pairs, f"{key}_agreeing": r.pairs_agreeing,
                    f"{key}_agreeing_pct": r.pairs_agreeing_pct, f"{key}_power_corr": r.power_correlation})
    cases = cmp["cases"]
    for case in CALIBRATION_CASES:
        short = case.removeprefix("five_band_full_")
        out[f"{short}_mock_dex"] = float(cases.at[case, "mock_dex"]) if case in cases.index else float("nan")
        out[f"{short}_study_dex"] = float(study_table().at[case, "scatter_dex"])
    ap = cmp["apertures"]
    for sample in ("full", "restricted"):
        row = ap[(ap["input"] == "white_light") & (ap["sample"] == sample)]
        for who in ("mock", "study"):
            out[f"aperture_{sample}_{who}"] = 100.0 * float(row[f"share_by_12px_{who}"].iloc[0]) if len(row) \
                else float("nan")
    return out


def _study_as_mock() -> pd.DataFrame:
    st = study_table()
    return st[["scatter_dex", "null_dex", "power_pct"]].assign(seed_range_dex=0.0, n_seeds=0)
