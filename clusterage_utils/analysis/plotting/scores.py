"""The study's figures from scores: feasibility (Fig. 2), masking curves (Figs. 3, 8), case bars (Figs. 4-5),
age histograms (Fig. 6), method comparisons and paired-significance forests."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...sweeps import Sweep
from .style import PANEL_TITLES, PANELS, SET_COLOURS, STUDY_COLOUR, _ci_err, _label, stamp_mock

__all__ = ["age_histograms", "reference_vs_true", "feasibility", "masking_curves", "case_bars",
           "masking_method_comparison", "grouped_case_bars", "significance_forest", "grey_level_leak"]


def age_histograms(catalogue: pd.DataFrame, by: str = "distance_group", column: str = "log_age", mock: bool = True,
                   groups=None):
    """Step histograms of log age per group (e.g. near / far galaxies), normalised to unit area."""
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = groups or sorted(catalogue[by].unique())
    bins = np.arange(5.95, 10.3, 0.1)
    for g in groups:
        a = catalogue.loc[catalogue[by] == g, column]
        ax.hist(a, bins=bins, histtype="step", density=True, lw=1.8, label=f"{g} (N = {len(a)})")
    ax.axvspan(7.0, 9.5, color="0.9", zorder=-1, label="restricted sample")
    ax.set_xlabel("log age / yr")
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def reference_vs_true(catalogue: pd.DataFrame, mock: bool = True):
    """Mock survey only: reference (SED-fit) age against true age, coloured by true E(B-V)."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    sc = ax.scatter(catalogue["true_log_age"], catalogue["log_age"], c=catalogue["true_ebv_mag"], s=8,
                    cmap="viridis", vmin=0, vmax=0.8)
    ax.plot([6, 10.2], [6, 10.2], "k--", lw=1)
    plt.colorbar(sc, ax=ax, label="true E(B-V) (mag)")
    ax.set_xlabel("true log age / yr")
    ax.set_ylabel("reference (SED-fit) log age / yr")
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def feasibility(predictions: dict[str, pd.DataFrame], histories: dict[str, list[pd.DataFrame]], mock: bool = True):
    """The study's Fig. 2 per sample: predicted vs reference age (test set), residuals vs age, and the loss
    curves of every seed (``histories[sample]`` is a list of frames with ``epoch, loss, val_loss``)."""
    n = len(predictions)
    fig, axes = plt.subplots(n, 3, figsize=(13, 3.8 * n), squeeze=False)
    for r, (label, p) in enumerate(predictions.items()):
        t = p[p["set"] == "test"]
        ax = axes[r, 0]
        ax.scatter(t["label"], t["pred"], s=8, alpha=0.6)
        lim = [min(t["label"].min(), t["pred"].min()) - 0.1, max(t["label"].max(), t["pred"].max()) + 0.1]
        ax.plot(lim, lim, "k--", lw=1)
        ax.set_xlabel("reference log age")
        ax.set_ylabel("predicted log age")
        ax.set_title(f"{label}: test set")
        ax = axes[r, 1]
        ax.scatter(t["label"], t["pred"] - t["label"], s=8, alpha=0.6)
        ax.axhline(0, color="k", lw=1)
        ax.set_xlabel("reference log age")
        ax.set_ylabel("predicted − reference (dex)")
        ax = axes[r, 2]
        for i, h in enumerate(histories[label]):
            ax.plot(h["epoch"], h["loss"], color="tab:blue", alpha=0.7, label="train" if i == 0 else None)
            ax.plot(h["epoch"], h["val_loss"], color="tab:orange", alpha=0.7, label="validation" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE (scaled targets)")
        ax.set_yscale("log")
        ax.legend(frameon=False)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def _sweep_rows(summary: pd.DataFrame, inp: str, sample: str, sweep: Sweep) -> pd.DataFrame:
    sub = summary[(summary["input"] == inp) & (summary["sample"] == sample)]
    sub = sub[sweep.selects(sub)]
    if "labels" in sub:
        sub = sub[sub["labels"] == "reference"]
    return sub


def _sqrt_axis(ax, diameters) -> None:
    """A square-root diameter axis: the first pixels, where the aperture lies, get room."""
    ax.set_xscale("function", functions=(lambda v: np.sign(v) * np.sqrt(np.abs(v)),
                                         lambda v: np.sign(v) * np.square(v)))
    ticks = sorted({int(d) for d in diameters})
    ax.set_xlim(-0.6, max(ticks) * 1.08 + 0.5)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks], fontsize=7)


def _study_stars(ax, study: pd.DataFrame | None, inp: str, sample: str, sweep: Sweep) -> None:
    if study is None:
        return
    st = study[(study["input"] == inp) & (study["sample"] == sample)]
    st = st[sweep.selects(st)]
    if len(st):
        m = st["test_scatter_mean"].to_numpy(float)
        err = np.clip(np.vstack([m - st["test_ci_lo"], st["test_ci_hi"] - m]), 0, None)
        ax.errorbar(st["diameter"], m, yerr=err, fmt="*", color=STUDY_COLOUR, ms=10, capsize=2,
                    label="study, real data (released runs)")


def _curve_axes(n_panels: int):
    """The figure and its axes: per panel a scatter axis (row 0) above a predictive-power axis (row 1)."""
    ncols = min(2, n_panels)
    nrows = -(-n_panels // ncols)
    fig, grid = plt.subplots(2 * nrows, ncols, figsize=(5.6 * ncols, 6.4 * nrows), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1] * nrows})
    axes = np.empty((2, n_panels), dtype=object)
    for c in range(n_panels):
        axes[0, c], axes[1, c] = grid[2 * (c // ncols), c % ncols], grid[2 * (c // ncols) + 1, c % ncols]
    for k in range(n_panels, nrows * ncols):             # an odd number of panels leaves one slot empty
        grid[2 * (k // ncols), k % ncols].axis("off")
        grid[2 * (k // ncols) + 1, k % ncols].axis("off")
    return fig, axes


def _draw_curves(ax, axp, main: pd.DataFrame, group_col: str | None) -> None:
    """The sweep's curves of one panel: test (68 % interval), train and validation (± std), null, power."""
    for gname, g in [(None, main)] if not group_col else list(main.groupby(group_col)):
        g = g.sort_values("diameter")
        d = g["diameter"].to_numpy(float)
        ls = "-" if gname in (None, "near", "all") else "--"
        for st in ("train", "val", "test"):
            if st != "test" and group_col:
                continue
            e = _ci_err(g) if st == "test" else g[f"{st}_scatter_std"]
            ax.errorbar(d, g[f"{st}_scatter_mean"], yerr=e, color=SET_COLOURS[st], ls=ls, marker="o", ms=3,
                        capsize=2, label=st if gname is None else f"{st} ({gname})")
        ax.plot(d, g["null_scatter_dex"], color="k", ls=ls, lw=1, label="null" if gname is None else
                f"null ({gname})")
        axp.plot(d, g["predictive_power_pct"], marker="o", ms=3, ls=ls, color="tab:green",
                 label=None if gname is None else str(gname))


def masking_curves(summary: pd.DataFrame, sweep: Sweep, mock: bool = True, panels=PANELS,
                   study: pd.DataFrame | None = None, group_col: str | None = None):
    """The study's Figs. 3 / 8: train, validation and test scatter against mask diameter per (input, sample)
    panel, the null predictor, the photometric aperture (:attr:`~clusterage_utils.sweeps.Sweep.aperture_marker`)
    and a predictive-power panel.

    Test: mean over seeds with the 68 % interval (seeds and test bootstrap); train and validation: mean ± std.
    When ``summary`` holds both masking methods, the curve is the one with more diameters (the sweep) and the
    other's cases are drawn as open squares with their intervals ("retrained checks"). ``study``:
    :func:`~clusterage_utils.analysis.study.study_case_scores` (real data), drawn as stars. ``group_col``: one test
    curve per group (e.g. near / far), solid and dashed.
    """
    fig, axes = _curve_axes(len(panels))
    aperture = sweep.aperture_marker
    for c, (inp, sample) in enumerate(panels):
        ax, axp = axes[0, c], axes[1, c]
        sub = _sweep_rows(summary, inp, sample, sweep)
        methods = sub.groupby("masking")["diameter"].nunique().sort_values() if len(sub) else pd.Series(dtype=int)
        _draw_curves(ax, axp, sub[sub["masking"] == methods.index[-1]] if len(methods) else sub, group_col)
        if len(methods) > 1 and not group_col:
            chk = sub[sub["masking"] == methods.index[0]].sort_values("diameter")
            ax.errorbar(chk["diameter"], chk["test_scatter_mean"], yerr=_ci_err(chk), fmt="s", mfc="white",
                        color="tab:green", ms=6, capsize=2, label=f"test, {methods.index[0]} (checks)")
        _study_stars(ax, study, inp, sample, sweep)
        for a in (ax, axp):
            if aperture is not None:
                a.axvline(aperture, color="0.5", ls=":", lw=1)
            if len(sub):
                _sqrt_axis(a, sub["diameter"])
        ax.set_title(f"{PANEL_TITLES[inp]}, {PANEL_TITLES[sample]}", fontsize=10)
        ax.set_ylabel("scatter (dex)")
        axp.set_xlabel(sweep.axis_label("square-root axis"))
        axp.set_ylabel("predictive power (%)")
        axp.axhline(0, color="k", lw=0.8)
        if group_col and c == 0:
            axp.legend(frameon=False, fontsize=7)
    axes[0, 0].legend(frameon=False, fontsize=7)
    if aperture is not None:
        axes[0, 0].text(0.99, 0.01, f"dotted: {aperture:g}-px aperture", transform=axes[0, 0].transAxes,
                        ha="right", va="bottom", fontsize=7, color="0.4")
    stamp_mock(fig, mock)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def case_bars(summary: pd.DataFrame, cases: list[str], study: pd.DataFrame | None = None, mock: bool = True,
              title: str = ""):
    """The study's Figs. 4-5: test scatter per named case (mean over seeds, error bar = 68 % interval over seeds
    and the test bootstrap), the null predictor as a tick, and the study's value on real data as a star with its
    interval (``study``: :func:`~clusterage_utils.analysis.study.study_case_scores`)."""
    s = summary.set_index("case").reindex(cases).dropna(subset=["test_scatter_mean"])
    fig, ax = plt.subplots(figsize=(1.6 + 0.8 * len(s), 5.0))
    x = np.arange(len(s))
    colours = ["0.6" if "shuffled" in c else ("tab:purple" if c.startswith("five_band") else "tab:cyan")
               for c in s.index]
    ax.bar(x, s["test_scatter_mean"], yerr=_ci_err(s), color=colours, capsize=3, label="this book (mock survey)")
    for i, c in enumerate(s.index):
        ax.hlines(s.loc[c, "null_scatter_dex"], i - 0.45, i + 0.45, color="k", lw=1.2,
                  label="null predictor" if i == 0 else None)
    if study is not None:
        st = study.set_index("case").reindex(s.index)
        ok = st["test_scatter_mean"].notna().to_numpy()
        if ok.any():
            m = st["test_scatter_mean"].to_numpy(float)[ok]
            err = np.clip(np.vstack([m - st["test_ci_lo"].to_numpy(float)[ok],
                                     st["test_ci_hi"].to_numpy(float)[ok] - m]), 0, None)
            ax.errorbar(x[ok] + 0.18, m, yerr=err, fmt="*", color=STUDY_COLOUR, ms=11, capsize=2,
                        label="study, real data (released runs)")
    ax.set_xticks(x)
    ax.set_xticklabels([_label(c) for c in s.index], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("test scatter (dex)")
    ax.set_ylim(0, 1.35 * max(s["null_scatter_dex"].max(), float(s["test_scatter_mean"].max())))
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left", ncol=2)
    stamp_mock(fig, mock)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def masking_method_comparison(summary: pd.DataFrame, sweep: Sweep, mock: bool = True, panels=PANELS):
    """Test scatter vs diameter from retraining per diameter (solid) and from one amortised model (dashed),
    mean with the 68 % interval over seeds and the test bootstrap, per (input, sample) panel."""
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    axes = axes.ravel()[None]
    s = summary[sweep.selects(summary)]
    for c, (inp, sample) in enumerate(panels):
        ax = axes[0, c]
        g = s[(s["input"] == inp) & (s["sample"] == sample) & (s["labels"] == "reference")]
        for method, ls in (("retrain", "-"), ("amortised", "--")):
            m = g[g["masking"] == method].sort_values("diameter")
            if len(m):
                ax.errorbar(m["diameter"], m["test_scatter_mean"], yerr=_ci_err(m), ls=ls, marker="o",
                            ms=3, capsize=2, label=method)
                ax.plot(m["diameter"], m["null_scatter_dex"], color="k", lw=0.8, ls=ls)
        ax.set_title(f"{PANEL_TITLES[inp]}, {PANEL_TITLES[sample]}", fontsize=10)
        ax.set_xlabel(sweep.axis_label())
        ax.set_ylabel("test scatter (dex)")
    axes[0, 0].legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def grouped_case_bars(summary: pd.DataFrame, cases: list[str], by: str, order: list, mock: bool = True,
                      title: str = "", case_col: str = "base_case"):
    """Test scatter of ``cases`` for each value of ``by`` (e.g. split strategy or normalisation), side by side,
    with 68 % intervals and each variant's null predictor as a tick."""
    fig, ax = plt.subplots(figsize=(3.5 + 1.6 * len(cases), 4.3))
    width = 0.8 / len(order)
    for k, v in enumerate(order):
        g = summary[summary[by] == v].set_index(case_col).reindex(cases)
        x = np.arange(len(cases)) + (k - (len(order) - 1) / 2) * width
        ok = g["test_scatter_mean"].notna().to_numpy()
        if not ok.any():
            continue
        ax.bar(x[ok], g["test_scatter_mean"][ok], width=width, yerr=_ci_err(g[ok]), capsize=3, label=str(v))
        ax.hlines(g["null_scatter_dex"][ok], x[ok] - width / 2, x[ok] + width / 2, color="k", lw=1.2,
                  label="null predictor" if k == 0 else None)
    ax.set_xticks(np.arange(len(cases)))
    ax.set_xticklabels([_label(c) for c in cases], fontsize=8)
    ax.set_ylabel("test scatter (dex)")
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8, title=by, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig

def significance_forest(table: pd.DataFrame, mock: bool = True):
    """Paired differences of test scatter (A - B, dex) with their confidence intervals, one row per pair;
    filled markers are significant."""
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(11, 0.4 * len(t) + 1.2))
    y = np.arange(len(t))
    err = np.vstack([t["diff_dex"] - t["ci_lo"], t["ci_hi"] - t["diff_dex"]]).clip(0)
    ax.errorbar(t["diff_dex"], y, xerr=err, fmt="none", ecolor="0.4", capsize=3)
    sig = t["significant"].to_numpy(bool)
    ax.plot(t["diff_dex"][sig], y[sig], "o", color="tab:red", label="significant")
    ax.plot(t["diff_dex"][~sig], y[~sig], "o", mfc="white", color="0.3", label="not significant")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{_label(a)}  vs  {_label(b)}" for a, b in zip(t["case_a"], t["case_b"])], fontsize=9)
    ax.set_xlabel(f"scatter(A) − scatter(B) (dex), {100 * table.attrs.get('level', 0.95):.0f} % paired bootstrap")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


def grey_level_leak(levels: pd.DataFrame, controls: pd.DataFrame | None = None, mock: bool = True):
    """The grey level the study's code gives masked pixels, against reference age, one panel per case (from
    :func:`~clusterage_utils.analysis.chapters.normalisation.grey_levels_by_case`); the title gives its Spearman
    correlation with age and, from ``controls``, how well it alone predicts age (scatter vs null)."""
    cases = list(dict.fromkeys(levels["case"]))
    ncols = min(3, len(cases))
    nrows = -(-len(cases) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    ctl = controls.set_index("case") if controls is not None else None
    for k, case in enumerate(cases):
        ax = axes.ravel()[k]
        g = levels[levels["case"] == case]
        ax.scatter(g["log_age"], g["grey_level"], s=4, alpha=0.35, color="tab:purple")
        title = _label(case)
        if ctl is not None and case in ctl.index:
            r = ctl.loc[case]
            title += (f"\nSpearman {r['spearman']:+.2f}; alone: {r['test_scatter_dex']:.2f} dex "
                      f"(null {r['null_scatter_dex']:.2f})")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("reference log age / yr")
        ax.set_ylabel("masked pixels' value")
    for k in range(len(cases), nrows * ncols):
        axes.ravel()[k].axis("off")
    stamp_mock(fig, mock)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig
