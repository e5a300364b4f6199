"""Figures of the book. Every function returns a matplotlib Figure; a ``mock`` flag stamps synthetic-data figures."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves
import numpy as np
import pandas as pd

from . import BANDS

AGE_CMAP = "plasma_r"
MOCK_LABEL = "MOCK SURVEY (synthetic data)"


def stamp_mock(fig, mock: bool = True) -> None:
    """Write a visible 'synthetic data' label on a figure built from the mock survey."""
    if mock:
        fig.text(0.995, 0.005, MOCK_LABEL, ha="right", va="bottom", fontsize=8, color="crimson",
                 alpha=0.85, weight="bold")


def lupton_rgb(images: np.ndarray, stretch: float = 0.5, Q: float = 8.0) -> np.ndarray:
    """Colour composite of a (5, H, W) stack: R = F814W, G = F555W, B = F336W + F275W (astropy Lupton RGB)."""
    from astropy.visualization import make_lupton_rgb

    im = np.nan_to_num(np.asarray(images, float))
    r, g, b = im[4], im[3], 0.5 * (im[1] + im[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return make_lupton_rgb(r, g, b * 2.0, stretch=stretch, Q=Q)


def mosaic_with_clusters(images: np.ndarray, x_px, y_px, log_age, title: str = "", mock: bool = True,
                         ax=None):
    """Colour composite of a mosaic with the catalogued clusters circled and coloured by log age."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 8))
    ax.imshow(lupton_rgb(images), origin="lower")
    norm = matplotlib.colors.Normalize(6, 10)
    cmap = plt.get_cmap(AGE_CMAP)
    ax.scatter(x_px, y_px, s=70, facecolors="none", edgecolors=cmap(norm(np.asarray(log_age))), linewidths=1.3)
    cb = plt.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.02)
    cb.set_label("log age / yr")
    ax.set_title(title)
    ax.set_xlabel("x (px, 0.04\"/px)")
    ax.set_ylabel("y (px)")
    if fig is not None:
        stamp_mock(fig, mock)
    return fig or ax.figure


def cutout_gallery(cutouts: np.ndarray, log_ages, n: int = 8, white_light: bool = True, mock: bool = True,
                   title: str = ""):
    """Gallery of cutouts ordered by age (the study's Fig. 1): one column per cluster, one row per band
    (+ white light), each cutout shown with a per-cutout asinh stretch."""
    from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval

    log_ages = np.asarray(log_ages)
    order = np.argsort(log_ages)
    pick = order[np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int)]
    rows = list(BANDS) + (["white light"] if white_light else [])
    fig, axes = plt.subplots(len(rows), len(pick), figsize=(1.35 * len(pick), 1.4 * len(rows)), squeeze=False)
    for j, i in enumerate(pick):
        stack = np.nan_to_num(np.asarray(cutouts[i], float))
        planes = list(stack) + ([stack.mean(0)] if white_light else [])
        for r, plane in enumerate(planes):
            ax = axes[r, j]
            norm = ImageNormalize(plane, interval=PercentileInterval(99.5), stretch=AsinhStretch(0.1))
            ax.imshow(plane, origin="lower", cmap="gray", norm=norm)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(rows[r], fontsize=8)
        axes[0, j].set_title(f"{log_ages[i]:.2f}", fontsize=9)
    fig.suptitle(title or "cutouts ordered by log age / yr", fontsize=10)
    fig.tight_layout()
    stamp_mock(fig, mock)
    return fig


def survey_mosaic(folder: str | os.PathLike, galaxy_id: str, mock: bool = True):
    """Colour composite of one galaxy's product mosaics with its catalogued clusters coloured by age
    (true age for the mock survey, reference age otherwise). Returns (figure, images, x, y, catalogue)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    from .products import find_band_images, read_cluster_catalogue

    paths = find_band_images(folder, galaxy_id)
    images = np.stack([fits.getdata(paths[b]).astype(float) for b in BANDS])
    cat, _ = read_cluster_catalogue(folder, galaxy_id)
    wcs = WCS(fits.getheader(paths["F555W"])).celestial
    x, y = wcs.world_to_pixel_values(cat["ra_deg"], cat["dec_deg"])
    truth = "MOCK_TRUE_LOG_AGE" in cat
    fig = mosaic_with_clusters(images, x, y, cat["MOCK_TRUE_LOG_AGE"] if truth else cat["log_age"],
                               title=f"{galaxy_id}: clusters coloured by {'true' if truth else 'reference'} age",
                               mock=mock)
    return fig, images, x, y, cat


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


def mock_preview(survey_dir: str | os.PathLike, out_dir: str | os.PathLike, galaxy: str | None = None,
                 n_gallery: int = 10) -> list[Path]:
    """Save the mock survey's preview PNGs: a mosaic composite with clusters, and a cutout gallery by age.

    Returns the paths written.
    """
    from astropy.nddata import Cutout2D

    from .products import galaxy_id_for

    survey_dir, out_dir = Path(survey_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folders = sorted(p for p in survey_dir.iterdir() if p.is_dir() and galaxy_id_for(p.name))
    if galaxy:
        folders = [p for p in folders if galaxy_id_for(p.name) == galaxy]
    folder = folders[0]
    gid = galaxy_id_for(folder.name)
    written = []
    fig, images, x, y, cat = survey_mosaic(folder, gid)
    p = out_dir / f"{gid}_mosaic.png"
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(p)
    cut = np.stack([np.stack([Cutout2D(images[b], (xi, yi), 112, mode="partial", fill_value=0).data
                              for b in range(5)]) for xi, yi in zip(x, y)])
    fig = cutout_gallery(cut, cat["log_age"].to_numpy(), n=n_gallery,
                         title=f"{gid}: mock cutouts ordered by reference log age")
    p = out_dir / f"{gid}_gallery.png"
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(p)
    return written


PANELS = [("five_band", "full"), ("five_band", "restricted"), ("white_light", "full"), ("white_light", "restricted")]
PANEL_TITLES = {"five_band": "5 bands", "white_light": "white light", "full": "full sample",
                "restricted": "restricted (7 ≤ log age ≤ 9.5)"}
SET_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}


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


def masking_curves(summary: pd.DataFrame, kind: str, mock: bool = True, aperture_diameter_px: float = 8.0,
                   panels=PANELS, study: pd.DataFrame | None = None, group_col: str | None = None):
    """Figs. 3 / 8: train, validation and test scatter vs mask diameter per (input, sample) panel (train and
    validation: mean ± std over seeds; test: mean with the 68 % interval over seeds and the test bootstrap), the
    null predictor, the 8-px photometric aperture, and a predictive-power panel."""
    ncols = len(panels)
    fig, axes = plt.subplots(2, ncols, figsize=(4.2 * ncols, 7), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1]})
    for c, (inp, sample) in enumerate(panels):
        ax, axp = axes[0, c], axes[1, c]
        sub = summary[(summary["input"] == inp) & (summary["sample"] == sample)]
        if kind == "mask_centre":
            sub = sub[sub["mask"].isin(["none", "mask_centre"])]
        else:
            sub = sub[sub["mask"] == "keep_centre"]
        if "labels" in sub:
            sub = sub[sub["labels"] == "reference"]
        if "masking" in sub:
            sub = sub[sub["masking"] == sub["masking"].iloc[0]] if len(sub) else sub
        groups = [(None, sub)] if not group_col else list(sub.groupby(group_col))
        for gname, g in groups:
            g = g.sort_values("diameter_px")
            d = g["diameter_px"].to_numpy()
            ls = "-" if gname in (None, "near", "all") else "--"
            for s in ("train", "val", "test"):
                m = g[f"{s}_scatter_mean"]
                e = _ci_err(g) if s == "test" else g[f"{s}_scatter_std"]
                lab = s if gname is None else f"{s} ({gname})"
                if s != "test" and group_col:
                    continue
                ax.errorbar(d, m, yerr=e, color=SET_COLOURS[s], ls=ls, marker="o", ms=3, capsize=2, label=lab)
            ax.plot(d, g["null_scatter_dex"], color="k", ls=ls, lw=1, label="null" if gname is None else
                    f"null ({gname})")
            axp.plot(d, g["predictive_power_pct"], marker="o", ms=3, ls=ls, color="tab:green",
                     label=None if gname is None else str(gname))
        ax.axvline(aperture_diameter_px, color="0.5", ls=":", lw=1)
        ax.text(aperture_diameter_px, ax.get_ylim()[1] if len(sub) else 1, " 8-px aperture", fontsize=7,
                va="top", color="0.4")
        if study is not None:
            st = study[(study["input"] == inp) & (study["sample"] == sample) & (study["mask"].isin(
                ["none", kind] if kind == "mask_centre" else [kind]))]
            if len(st):
                ax.errorbar(st["diameter_px"], st["test_scatter_dex_mean"], yerr=st["test_scatter_dex_std"],
                            fmt="*", color="crimson", ms=9, label="study (test)")
        ax.set_title(f"{PANEL_TITLES[inp]}, {PANEL_TITLES[sample]}", fontsize=10)
        ax.set_ylabel("scatter (dex)")
        axp.set_xlabel(("masked" if kind == "mask_centre" else "kept") + " diameter (px)")
        axp.set_ylabel("predictive power (%)")
        axp.axhline(0, color="k", lw=0.8)
        if group_col and c == 0:
            axp.legend(frameon=False, fontsize=7)
    axes[0, 0].legend(frameon=False, fontsize=7)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


def _ci_err(summary: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars (2, n) of the mean test scatter from ``test_ci_lo`` / ``test_ci_hi``."""
    m = summary["test_scatter_mean"].to_numpy(float)
    return np.clip(np.vstack([m - summary["test_ci_lo"].to_numpy(float),
                              summary["test_ci_hi"].to_numpy(float) - m]), 0, None)


def case_bars(summary: pd.DataFrame, cases: list[str], study: pd.DataFrame | None = None, mock: bool = True,
              title: str = ""):
    """Figs. 4-5: test scatter per named case (mean over seeds, error bar = 68 % interval over seeds and the test
    bootstrap), the null predictor as a line, and the study's value as a star where it has one."""
    s = summary.set_index("case").reindex(cases).dropna(subset=["test_scatter_mean"])
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(s), 4.8))
    x = np.arange(len(s))
    yerr = _ci_err(s)
    colours = ["0.6" if "shuffled" in c else ("tab:purple" if c.startswith("five_band") else "tab:cyan")
               for c in s.index]
    ax.bar(x, s["test_scatter_mean"], yerr=yerr, color=colours, capsize=3, label="this book")
    for i, c in enumerate(s.index):
        ax.hlines(s.loc[c, "null_scatter_dex"], i - 0.45, i + 0.45, color="k", lw=1.2,
                  label="null predictor" if i == 0 else None)
    if study is not None:
        st = study_values(study, s.index)
        ok = np.isfinite(st)
        ax.plot(x[ok], st[ok], "*", color="crimson", ms=11, label="study (released runs)")
    ax.set_xticks(x)
    ax.set_xticklabels([c.replace("_", " ") for c in s.index], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("test scatter (dex)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


def study_values(study: pd.DataFrame, cases) -> np.ndarray:
    """The study's mean test scatter for case names (NaN where it has none)."""
    key = {f"{r.input}_{r.sample}_{r.mask}" + (f"_{r.diameter_px}" if r.mask != "none" else ""):
           r.test_scatter_dex_mean for r in study.itertuples()}
    return np.array([key.get(c, np.nan) for c in cases], float)


def masking_method_comparison(summary: pd.DataFrame, kind: str = "mask_centre", mock: bool = True, panels=PANELS):
    """Test scatter vs diameter from retraining per diameter (solid) and from one amortised model (dashed),
    mean with the 68 % interval over seeds and the test bootstrap, per (input, sample) panel."""
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    axes = axes.ravel()[None]
    s = summary.copy()
    s["mask_kind"] = s["mask"].replace({"none": "mask_centre"})
    for c, (inp, sample) in enumerate(panels):
        ax = axes[0, c]
        g = s[(s["input"] == inp) & (s["sample"] == sample) & (s["mask_kind"] == kind) & (s["labels"] == "reference")]
        for method, ls in (("retrain", "-"), ("amortised", "--")):
            m = g[g["masking"] == method].sort_values("diameter_px")
            if len(m):
                ax.errorbar(m["diameter_px"], m["test_scatter_mean"], yerr=_ci_err(m), ls=ls, marker="o",
                            ms=3, capsize=2, label=method)
                ax.plot(m["diameter_px"], m["null_scatter_dex"], color="k", lw=0.8, ls=ls)
        ax.set_title(f"{PANEL_TITLES[inp]}, {PANEL_TITLES[sample]}", fontsize=10)
        ax.set_xlabel(("masked" if kind == "mask_centre" else "kept") + " diameter (px)")
        ax.set_ylabel("test scatter (dex)")
    axes[0, 0].legend(frameon=False, fontsize=8)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------- beyond the study
def _label(case: str) -> str:
    return case.replace("_", " ")


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


def grouped_case_bars(summary: pd.DataFrame, cases: list[str], by: str, order: list, mock: bool = True,
                      title: str = ""):
    """Test scatter of ``cases`` for each value of ``by`` (e.g. split strategy or normalisation), side by side,
    with 68 % intervals and each variant's null predictor as a tick."""
    fig, ax = plt.subplots(figsize=(3.5 + 1.6 * len(cases), 4.3))
    width = 0.8 / len(order)
    for k, v in enumerate(order):
        g = summary[summary[by] == v].set_index("case").reindex(cases)
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


def attribution_vs_masking(profiles: pd.DataFrame, masking_summary: pd.DataFrame | None, mock: bool = True):
    """Left: radial |integrated gradients| profiles per age bin (unit area). Middle: share of the attribution
    inside a diameter. Right: the retraining inner-masking curve (test predictive power) on the same axis."""
    fig = plt.figure(figsize=(10, 8))
    axes = [fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2), fig.add_subplot(2, 1, 2)]
    for b, g in profiles.groupby("age_bin", sort=False):
        n = int(g["n"].iloc[0])
        axes[0].errorbar(g["radius_px"], g["profile_mean"], yerr=g["profile_sem"], label=f"{b} (n = {n})", ms=2,
                         marker="o", capsize=1)
        axes[1].plot(2 * g["outer_radius_px"], g["cumulative_mean"], marker="o", ms=2, label=b)
    axes[0].set_xlabel("radius from cluster (px)")
    axes[0].set_ylabel("mean |attribution| (unit area)")
    axes[0].set_yscale("log")
    axes[0].legend(frameon=False, fontsize=7, title="log age bin")
    axes[1].set_xlabel("diameter (px)")
    axes[1].set_ylabel("share of |attribution| inside")
    axes[1].set_ylim(0, 1.02)
    for ax in axes[:2]:
        ax.axvline(8 if ax is axes[1] else 4, color="0.5", ls=":", lw=1)
    if masking_summary is not None and len(masking_summary):
        m = masking_summary.sort_values("diameter_px")
        p = m["predictive_power_pct"].to_numpy(float)
        axes[2].plot(m["diameter_px"], 1 - p / p[0] if p[0] else p, "o-", color="tab:green",
                     label="loss of predictive power\n(retrained with centre masked)")
        axes[2].plot(2 * profiles.groupby("outer_radius_px")["cumulative_mean"].mean().index,
                     profiles.groupby("outer_radius_px")["cumulative_mean"].mean().values, "k--",
                     label="share of attribution hidden\n(all ages, one unmasked model)")
        axes[2].set_xlim(0, max(m["diameter_px"].max() * 1.1, 10))
        axes[2].set_ylim(-0.1, 1.05)
        axes[2].legend(frameon=False, fontsize=7)
    axes[2].set_xlabel("masked diameter (px)")
    axes[2].set_ylabel("fraction")
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


def attribution_gallery(images: np.ndarray, ig_maps: np.ndarray, occlusion: np.ndarray, log_ages,
                        predicted=None, mock: bool = True):
    """One row per cluster: white-light image, |integrated gradients| (summed over channels), occlusion map
    (prediction change in dex when an 8x8-px patch is zeroed)."""
    from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval

    n = len(images)
    fig, axes = plt.subplots(n, 3, figsize=(7.8, 2.5 * n), squeeze=False)
    for i in range(n):
        wl = np.asarray(images[i], float).mean(-1)
        norm = ImageNormalize(wl, interval=PercentileInterval(99.5), stretch=AsinhStretch(0.1))
        axes[i, 0].imshow(wl, origin="lower", cmap="gray", norm=norm)
        ig = np.abs(np.asarray(ig_maps[i], float)).sum(-1)
        axes[i, 1].imshow(ig, origin="lower", cmap="magma", vmax=np.quantile(ig, 0.995) or None)
        occ = np.asarray(occlusion[i], float)
        v = np.abs(occ).max() or 1.0
        im = axes[i, 2].imshow(occ, origin="lower", cmap="RdBu_r", vmin=-v, vmax=v)
        plt.colorbar(im, ax=axes[i, 2], fraction=0.046, pad=0.02).set_label("Δ pred (dex)", fontsize=7)
        lab = f"log age {log_ages[i]:.2f}" + (f"\npredicted {predicted[i]:.2f}" if predicted is not None else "")
        axes[i, 0].set_ylabel(lab, fontsize=8)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, t in zip(axes[0], ("white light (input)", "|integrated gradients|", "occlusion (8 px)")):
        ax.set_title(t, fontsize=9)
    stamp_mock(fig, mock)
    fig.tight_layout()
    return fig


def px_vs_pc_curves(summary: pd.DataFrame, mock: bool = True):
    """Inner-masking curves of near and far galaxies with masks in pixels (left) and in parsec (right): test
    scatter with 68 % intervals and each group's null."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    for ax, unit in zip(axes[0], ("px", "pc")):
        sub = summary[summary["unit"] == unit]
        for (grp, colour) in (("near", "tab:blue"), ("far", "tab:red")):
            g = sub[sub["group"] == grp].sort_values("diameter")
            if not len(g):
                continue
            ax.errorbar(g["diameter"], g["test_scatter_mean"], yerr=_ci_err(g), marker="o", capsize=2, color=colour,
                        label=f"{grp} galaxies")
            ax.plot(g["diameter"], g["null_scatter_dex"], color=colour, lw=1, ls=":", label=f"null ({grp})")
        ax.set_xlabel(f"masked diameter ({unit})")
        ax.set_ylabel("test scatter (dex)")
        ax.set_title(f"masks in {'pixels' if unit == 'px' else 'parsec (per-galaxy distance)'}", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
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
