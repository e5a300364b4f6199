"""Figures that need the mock survey's truth: injection-recovery, recovery by age, disagreements."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import _ci_err, _label, stamp_mock

__all__ = ["coupling_test", "recovery_by_age", "disagreement_scatter"]


def coupling_test(summary: pd.DataFrame, cases: list[str], mock: bool = True):
    """Injection-recovery: test scatter (68 % interval over seeds and test bootstrap) of each case against the
    mock's environment coupling, with each survey's null predictor."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    s = summary.sort_values("coupling")
    offsets = np.linspace(-0.03, 0.03, max(len(cases), 1))
    for off, c in zip(offsets, cases):
        g = s[s["case"] == c]
        if len(g):
            ax.errorbar(g["coupling"] + off, g["test_scatter_mean"], yerr=_ci_err(g), marker="o", capsize=3,
                        label=_label(c), color="0.5" if "shuffled" in c else None, ls="--" if "shuffled" in c else "-")
    nul = s.groupby("coupling")["null_scatter_dex"].mean()
    ax.plot(nul.index, nul.values, "k-", lw=2, label="null predictor (training-mean age)")
    ax.set_xlabel("environment coupling of the mock survey")
    ax.set_ylabel("test scatter (dex)")
    ax.set_xticks(sorted(s["coupling"].unique()))
    ax.legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def recovery_by_age(table: pd.DataFrame, mock: bool = True):
    """Scatter of the CNN age and of the SED-fit reference age around the *true* age, per true-age bin."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    x = np.arange(len(table))
    for k, (name, colour) in enumerate((("reference", "tab:orange"), ("cnn", "tab:purple"))):
        m = table[f"{name}_scatter_dex"].to_numpy(float)
        err = np.clip(np.vstack([m - table[f"{name}_ci_lo"], table[f"{name}_ci_hi"] - m]), 0, None)
        ax.bar(x + (k - 0.5) * 0.38, m, width=0.38, yerr=err, capsize=3, color=colour,
               label={"cnn": "CNN (trained on reference ages)", "reference": "SED-fit reference age"}[name])
    ax.set_xticks(x)
    ax.set_xticklabels([f"{b}\n(n = {n})" for b, n in zip(table["true_log_age_bin"], table["n"])], fontsize=8)
    ax.set_xlabel("true log age / yr")
    ax.set_ylabel("scatter around the true age (dex)")
    ax.legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def disagreement_scatter(predictions: pd.DataFrame, flagged: pd.DataFrame, mock: bool = True):
    """CNN vs reference age of the test set, the > n-sigma disagreements circled; on the mock, a second panel of
    each age against the truth for the flagged clusters."""
    t = predictions[predictions["set"] == "test"]
    has_truth = "true_log_age" in flagged and len(flagged)
    fig, axes = plt.subplots(1, 2 if has_truth else 1, figsize=(11 if has_truth else 5.5, 4.6), squeeze=False)
    ax = axes[0, 0]
    ax.scatter(t["label"], t["pred"], s=6, alpha=0.4, color="0.4", label="test clusters")
    ax.scatter(flagged["label"], flagged["pred"], s=40, facecolors="none", edgecolors="crimson",
               label=f"|CNN − ref| > 3σ (n = {len(flagged)})")
    lim = [5.8, 10.3]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("reference (SED-fit) log age")
    ax.set_ylabel("CNN log age")
    ax.legend(frameon=False, fontsize=8)
    if has_truth:
        ax = axes[0, 1]
        ax.scatter(flagged["true_log_age"], flagged["label"], marker="s", color="tab:orange", label="reference")
        ax.scatter(flagged["true_log_age"], flagged["pred"], marker="o", color="tab:purple", label="CNN")
        for r in flagged.itertuples():
            ax.plot([r.true_log_age] * 2, [r.label, r.pred], color="0.7", lw=0.8, zorder=-1)
        ax.plot(lim, lim, "k--", lw=1)
        ax.set_xlabel("true log age (mock)")
        ax.set_ylabel("estimated log age")
        ax.set_title("flagged clusters against the truth", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig
