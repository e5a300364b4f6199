"""Where the network looks: attribution profiles and galleries, and masks in pixels vs parsec."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import _ci_err, stamp_mock

__all__ = ["attribution_vs_masking", "attribution_gallery", "px_vs_pc_curves"]


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
        m = masking_summary.sort_values("diameter")
        p = m["predictive_power_pct"].to_numpy(float)
        axes[2].plot(m["diameter"], 1 - p / p[0] if p[0] else p, "o-", color="tab:green",
                     label="loss of predictive power\n(retrained with centre masked)")
        axes[2].plot(2 * profiles.groupby("outer_radius_px")["cumulative_mean"].mean().index,
                     profiles.groupby("outer_radius_px")["cumulative_mean"].mean().values, "k--",
                     label="share of attribution hidden\n(all ages, one unmasked model)")
        axes[2].set_xlim(0, max(m["diameter"].max() * 1.1, 10))
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
        sub = summary[summary["diameter_unit"] == unit]
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
