"""Figures of the study's own released runs on the real PHANGS-HST clusters (real data, stamped as such)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import PANEL_TITLES, STUDY_COLOUR, case_label, stamp_real

__all__ = ["real_feasibility", "real_case_bars", "scatter_by_age_heatmap", "galaxy_scatter", "real_disagreements"]


def real_feasibility(samples: dict[str, tuple[np.ndarray, np.ndarray]], scores: pd.DataFrame):
    """The study's Fig. 2 from its released predictions: per sample, predicted vs SED age of the test clusters
    (each model faint, the mean of the models dark) and the residual of the mean against age.

    Parameters
    ----------
    samples : dict
        ``{sample: (predictions (n_models, n), labels (n,))}``.
    scores : pandas.DataFrame
        :func:`~clusterage_utils.analysis.study.study_case_scores` rows (``sample``, ``test_scatter_mean``,
        ``test_scatter_std``, ``null_scatter_dex``, ``predictive_power_pct``) of the same configurations.
    """
    fig, axes = plt.subplots(len(samples), 2, figsize=(11, 4.3 * len(samples)), squeeze=False)
    for r, (sample, (pm, lab)) in enumerate(samples.items()):
        s = scores[scores["sample"] == sample].iloc[0]
        mean = pm.mean(0)
        ax = axes[r, 0]
        for k, p in enumerate(pm):
            ax.scatter(lab, p, s=3, alpha=0.15, color="0.5", label="each of the 5 models" if k == 0 else None)
        ax.scatter(lab, mean, s=6, alpha=0.7, color="tab:purple", label="mean of the models")
        lim = [5.8, 10.3]
        ax.plot(lim, lim, "k--", lw=1)
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        ax.set_xlabel("SED-fit (reference) log age / yr")
        ax.set_ylabel("CNN log age / yr")
        ax.set_title(f"five bands, {PANEL_TITLES[sample]}: {len(lab)} test clusters", fontsize=10)
        ax.text(0.03, 0.97, f"scatter {s['test_scatter_mean']:.3f} ± {s['test_scatter_std']:.3f} dex\n"
                f"null {s['null_scatter_dex']:.3f} dex\npredictive power {s['predictive_power_pct']:.1f} %",
                transform=ax.transAxes, va="top", fontsize=9)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        ax = axes[r, 1]
        ax.scatter(lab, mean - lab, s=6, alpha=0.6, color="tab:purple")
        ax.axhline(0, color="k", lw=1)
        for sign in (-1, 1):
            ax.axhline(sign * s["test_scatter_mean"], color="0.5", ls=":", lw=1)
        ax.set_xlabel("SED-fit (reference) log age / yr")
        ax.set_ylabel("CNN mean − SED (dex)")
    stamp_real(fig)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def real_case_bars(case_scores: pd.DataFrame, model_scores: pd.DataFrame, order: list[str]):
    """Figs. 4-5 from the released runs: test scatter per configuration, one panel per sample; bar = mean of the
    models, error bar = 68 % interval of the mean (model spread and test bootstrap), dots = the single models,
    black tick = the null predictor. A hatched bar has no per-cluster file (released-runs table only)."""
    samples = [s for s in ("full", "restricted") if (case_scores["sample"] == s).any()]
    n = max(sum(case_scores["case"].isin(order) & (case_scores["sample"] == s)) for s in samples)
    fig, axes = plt.subplots(1, len(samples), figsize=(2.2 + 0.75 * n * len(samples), 5.2), squeeze=False,
                             sharey=False)
    for ax, sample in zip(axes[0], samples):
        s = case_scores[case_scores["sample"] == sample].set_index("case")
        cases = [c for c in order if c in s.index]
        s = s.loc[cases]
        x = np.arange(len(cases))
        m = s["test_scatter_mean"].to_numpy(float)
        err = np.clip(np.vstack([m - s["test_ci_lo"], s["test_ci_hi"] - m]), 0, None)
        colours = ["tab:purple" if c.startswith("five_band") else "tab:cyan" for c in cases]
        hatch = ["//" if src != "per-cluster predictions" else "" for src in s["source"]]
        for i in range(len(cases)):
            ax.bar(x[i], m[i], yerr=err[:, i:i + 1], color=colours[i], hatch=hatch[i], capsize=3,
                   edgecolor="0.3" if hatch[i] else None)
            ax.hlines(s["null_scatter_dex"].iloc[i], x[i] - 0.45, x[i] + 0.45, color="k", lw=1.3,
                      label="null predictor" if i == 0 else None)
            pts = model_scores.loc[model_scores["configuration"] == cases[i], "test_scatter_dex"]
            ax.plot(np.full(len(pts), x[i]) + np.linspace(-0.2, 0.2, max(len(pts), 1))[:len(pts)], pts, "o",
                    ms=3, color="k", alpha=0.7, label="single models" if i == 0 else None)
        ax.set_xticks(x)
        ax.set_xticklabels([case_label(c.replace(f"_{sample}", "")) for c in cases], rotation=40, ha="right",
                           fontsize=8)
        ax.set_ylabel("test scatter (dex)")
        ax.set_title(PANEL_TITLES[sample], fontsize=10)
        ax.set_ylim(0, 1.3 * max(s["null_scatter_dex"].max(), (m + err[1]).max()))
    axes[0, 0].legend(frameon=False, fontsize=8, loc="upper left", ncol=2)
    stamp_real(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def scatter_by_age_heatmap(table: pd.DataFrame, order: list[str]):
    """Test scatter relative to the null predictor per age bin (rows: configurations, columns: reference-age
    bins); below 1 the models beat the training-mean age in that bin. Cell text: scatter in dex."""
    import seaborn as sns

    t = table[table["configuration"].isin(order)].copy()
    t["ratio"] = t["scatter_dex"] / t["null_dex"]
    bins = list(dict.fromkeys(t.sort_values("age_bin")["age_bin"]))
    ratio = t.pivot(index="configuration", columns="age_bin", values="ratio").reindex(index=order, columns=bins)
    text = t.pivot(index="configuration", columns="age_bin", values="scatter_dex").reindex(index=order,
                                                                                              columns=bins)
    counts = t.groupby("age_bin")["n"].max().reindex(bins)
    fig, ax = plt.subplots(figsize=(2.5 + 1.2 * len(bins), 0.45 * len(order) + 1.8))
    sns.heatmap(ratio, ax=ax, cmap="RdYlBu_r", vmin=0, vmax=2, center=1, annot=text.round(2), fmt="",
                cbar_kws={"label": "scatter / null in the bin"}, linewidths=0.5)
    ax.set_yticklabels([case_label(c) for c in ratio.index], rotation=0, fontsize=8)
    ax.set_xticklabels([f"{b}\n(n = {counts[b]})" for b in bins], rotation=0, fontsize=8)
    ax.set_xlabel("SED-fit log age bin (test clusters)")
    ax.set_ylabel("")
    stamp_real(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def galaxy_scatter(table: pd.DataFrame, galaxy_table: pd.DataFrame, configurations: list[str]):
    """Test scatter per galaxy against its distance for a few configurations, with each galaxy's null as a
    grey tick; the galaxies of the near and far groups of the study's Figs. 6-7 are shaded.

    ``galaxy_table``: Table 1 (:func:`~clusterage_utils.survey.reference.galaxies`: ``distance_mpc``,
    ``distance_group``)."""
    distances = galaxy_table["distance_mpc"]
    g = table[(table["level"] == "galaxy") & table["configuration"].isin(configurations)].copy()
    g["distance_mpc"] = g["name"].map(distances)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    near = distances[distances.index.isin(g["name"])]
    for name in ("near", "far"):
        d = distances[galaxy_table["distance_group"] == name]
        if len(d):
            lo, hi = d.min() - 0.3, d.max() + 0.3
            ax.axvspan(lo, hi, color="0.93", zorder=-2)
            ax.text((lo + hi) / 2, 0.98, f"{name} group", transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8)
    offsets = np.linspace(-0.15, 0.15, len(configurations))
    for off, cfg in zip(offsets, configurations):
        c = g[g["configuration"] == cfg].sort_values("distance_mpc")
        ax.scatter(c["distance_mpc"] + off, c["scatter_dex"], s=12 + c["n"] / 3, label=case_label(cfg), alpha=0.85)
    nul = g.drop_duplicates("name")
    ax.scatter(nul["distance_mpc"], nul["null_dex"], marker="_", s=200, color="0.4", label="null (per galaxy)")
    ax.set_xlabel("galaxy distance (Mpc)")
    ax.set_ylabel("test scatter (dex)")
    ax.set_xlim(near.min() - 1, near.max() + 1)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    stamp_real(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def real_disagreements(pm: np.ndarray, labels: np.ndarray, flagged: pd.DataFrame, n_sigma: float = 3.0):
    """CNN (mean of the models) vs SED age of the real test clusters; clusters more than n sigma apart circled,
    with the models' spread as error bars."""
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    ax.scatter(labels, pm.mean(0), s=5, alpha=0.4, color="0.45", label="test clusters")
    ax.errorbar(flagged["sed_log_age"], flagged["cnn_log_age"], yerr=flagged["cnn_models_std_dex"], fmt="o",
                mfc="none", color=STUDY_COLOUR, ms=7, capsize=2,
                label=f"|CNN − SED| > {n_sigma:g}σ (n = {len(flagged)})")
    lim = [5.8, 10.3]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("SED-fit log age / yr")
    ax.set_ylabel("CNN log age / yr (mean of 5 models)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    stamp_real(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
