"""Images: colour composites, mosaics with their clusters, cutout galleries. Arrays in, figures out."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ...constants import BANDS
from .style import AGE_CMAP, stamp_mock

__all__ = ["lupton_rgb", "mosaic_with_clusters", "cutout_gallery"]


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
