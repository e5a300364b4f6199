"""Preprocessing: white light, circular masks by diameter, normalisation, rotations, samples and splits.

Pure numpy functions on batches of cutouts in the file's layout ``(N, C, H, W)``; the training pipeline calls the
same functions, so what is tested here is what the network sees.

Mask geometry
-------------
``convention="geometric"`` (default) centres the circle on the cutout's geometric centre ((W-1)/2, between the
four central pixels of an even cutout) and masks pixels with ``r <= d/2``: the mask is unchanged by 90-degree
rotations (the training augmentation) and its area is pi d^2/4 within a pixel ring.
``convention="authors"`` reproduces the study's code: centre pixel (W//2, W//2) = (56, 56) and
``(x-56)^2 + (y-56)^2 <= R^2`` with R = d/2. That circle is off-centre by half a pixel, so a rotated cutout sees a
shifted mask, and R = 0 still masks the single centre pixel.
"""
from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from ..survey.reference import FULL_LOG_AGE_RANGE, RESTRICTED_LOG_AGE_RANGE
from ..sweeps import MASK_KINDS, MaskKind

__all__ = ["MASK_KINDS", "NORMALISATIONS", "INPUTS", "SAMPLES", "white_light", "circle", "visible_pixels",
           "diameter_pc_to_px", "apply_mask", "normalise", "dataset_range", "preprocess", "select_sample",
           "random_split", "kfold_split", "galaxy_split", "spatial_split", "overlap_fraction", "SPLITS", "make_split"]

NORMALISATIONS = ("instance", "authors", "channel", "dataset", "asinh", "log", "quantile")
INPUTS = ("five_band", "white_light")
SAMPLES = ("full", "restricted")


def white_light(cutouts: np.ndarray) -> np.ndarray:
    """Mean of the five bands per pixel, computed before normalisation: (N, 5, H, W) -> (N, 1, H, W)."""
    return np.asarray(cutouts, np.float32).mean(axis=1, keepdims=True)


def circle(size_px: int, diameter_px: float, convention: str = "geometric") -> np.ndarray:
    """Boolean (H, W) array, True inside the circle of diameter ``diameter_px`` centred on the cutout.

    Parameters
    ----------
    size_px : int
        Cutout width (= height).
    diameter_px : float
        Circle diameter in pixels, 0 <= d <= size_px.
    convention : {"geometric", "authors"}
        See the module docstring.
    """
    if not 0 <= diameter_px <= size_px:
        raise ValueError(f"mask diameter must be in [0, {size_px}] px for {size_px}-px cutouts, got {diameter_px}")
    yy, xx = np.mgrid[0:size_px, 0:size_px]
    r = diameter_px / 2.0
    if convention == "geometric":
        c = (size_px - 1) / 2.0
        if diameter_px == 0:
            return np.zeros((size_px, size_px), bool)
        return (xx - c) ** 2 + (yy - c) ** 2 <= r * r
    if convention == "authors":
        c = size_px // 2
        return (xx - c) ** 2 + (yy - c) ** 2 <= r * r
    raise ValueError(f"mask convention must be 'geometric' or 'authors', got {convention!r}")


def visible_pixels(kind: str, diameter_px: float, size_px: int, convention: str = "geometric") -> np.ndarray:
    """Boolean (H, W): True where the network sees data (:meth:`~clusterage_utils.sweeps.MaskKind.visible`).

    ``mask_centre``: everything outside the circle (the inner masking of the study's Fig. 3);
    ``keep_centre``: only the circle (outer masking, Fig. 8); ``none``: everything.

    Raises
    ------
    ValueError
        For an unknown mask kind, or a diameter outside [0, ``size_px``].
    """
    kind = MaskKind(kind)
    return kind.visible(circle(size_px, diameter_px if kind is not MaskKind.NONE else 0, convention))


def _per_item(visible: np.ndarray) -> np.ndarray:
    """Visible-pixel mask broadcastable to (N, C, H, W): one (H, W) mask for all, or one per item (N, H, W)."""
    v = np.asarray(visible, bool)
    return v[None, None] if v.ndim == 2 else v[:, None]


def diameter_pc_to_px(diameter_pc, pc_per_px) -> np.ndarray:
    """Mask diameter in parsec to pixels, per cluster: d_px = d_pc / (pc per px of its galaxy)."""
    return np.asarray(diameter_pc, float) / np.asarray(pc_per_px, float)


def apply_mask(cutouts: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Set invisible pixels to 0 in every channel: (N, C, H, W) with a (H, W) or per-item (N, H, W) mask."""
    return np.where(_per_item(visible), cutouts, 0.0).astype(np.float32)


def normalise(cutouts: np.ndarray, visible: np.ndarray, method: str = "instance",
              dataset_range: tuple[float, float] | None = None) -> np.ndarray:
    """Min-max normalisation to [0, 1]; masked pixels are exactly 0, except under ``authors``.

    Parameters
    ----------
    cutouts : ndarray (N, C, H, W)
        Masked or unmasked cutouts.
    visible : ndarray (H, W) or (N, H, W) of bool
        Pixels the network sees (one mask for all cutouts, or one each).
    method : str
        ``instance`` (paper text): one min and max per cutout over all channels, visible pixels only, masked
        pixels 0;
        ``authors`` (the study's code): masked pixels are set to 0 first, then one min and max over the whole
        cutout (masked zeros included) scales *every* pixel, so a masked pixel ends at -min / (max - min), a grey
        level that differs from cutout to cutout;
        ``channel``: a min and max per cutout and channel, visible pixels only;
        ``dataset``: one global ``dataset_range`` (from the training set, see :func:`dataset_range`);
        non-linear per-instance variants the study proposes: ``asinh`` (Lupton et al. 2004 stretch,
        asinh((x - min) / b) / asinh((max - min) / b) with b the visible pixels' standard deviation), ``log``
        (log(1 + (x - min) / b) scaled likewise) and ``quantile`` (clip to the 1st-99.5th percentiles of the
        visible pixels, then min-max).

    Notes
    -----
    A cutout whose visible pixels are all equal (max = min), or which has no visible pixel, normalises to 0
    everywhere (not NaN): it carries no contrast for the network.
    """
    x = np.asarray(cutouts, np.float32)
    vis = np.broadcast_to(_per_item(visible), x.shape)
    if method in ("asinh", "log", "quantile"):
        return _nonlinear(x, vis, method)
    if method == "dataset":
        if dataset_range is None:
            raise ValueError("normalisation 'dataset' needs dataset_range=(min, max) from the training set")
        lo = np.float32(dataset_range[0])
        hi = np.float32(dataset_range[1])
    else:
        axes = (1, 2, 3) if method in ("instance", "authors") else (2, 3)
        if method not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {method!r}")
        if method == "authors":
            return _authors_minmax(np.where(vis, x, 0.0))
        else:
            lo = np.where(vis, x, np.inf).min(axis=axes, keepdims=True)
            hi = np.where(vis, x, -np.inf).max(axis=axes, keepdims=True)
            lo = np.where(np.isfinite(lo), lo, 0.0)
            hi = np.where(np.isfinite(hi), hi, 0.0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    out = np.where(span > 0, (x - lo) / safe, 0.0)
    return np.where(vis, np.clip(out, 0.0, 1.0), 0.0).astype(np.float32)


def _authors_minmax(x: np.ndarray) -> np.ndarray:
    """The study's code: one min and max per cutout over every pixel and channel (masked zeros included), and
    every pixel scaled with them; a flat cutout (max = min) becomes 0."""
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    hi = x.max(axis=(1, 2, 3), keepdims=True)
    span = hi - lo
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)


def _nonlinear(x: np.ndarray, vis: np.ndarray, method: str) -> np.ndarray:
    import warnings

    xv = np.where(vis, x, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN slices of fully masked cutouts
        if method == "quantile":
            q = np.nanpercentile(xv, [1.0, 99.5], axis=(1, 2, 3), keepdims=True)
            lo, hi = q[0], q[1]
            xv = np.clip(xv, lo, hi)
        lo = np.nanmin(xv, axis=(1, 2, 3), keepdims=True)
        hi = np.nanmax(xv, axis=(1, 2, 3), keepdims=True)
        b = np.nanstd(xv, axis=(1, 2, 3), keepdims=True)
    lo, hi, b = (np.nan_to_num(v) for v in (lo, hi, b))
    b = np.where(b > 0, b, 1.0)
    if method == "asinh":
        f = np.arcsinh
    elif method == "log":
        f = np.log1p
    else:
        def f(v):
            return v
    num = f(np.clip(np.nan_to_num(xv) - lo, 0, None) / b)
    den = f((hi - lo) / b)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.where(vis, np.clip(out, 0.0, 1.0), 0.0).astype(np.float32)


def dataset_range(cutouts: np.ndarray, visible: np.ndarray) -> tuple[float, float]:
    """(min, max) over the visible pixels of a set of cutouts (for ``normalise(method='dataset')``)."""
    x = np.asarray(cutouts)
    vis = np.broadcast_to(_per_item(visible), x.shape)
    return float(np.where(vis, x, np.inf).min()), float(np.where(vis, x, -np.inf).max())


def preprocess(cutouts: np.ndarray, input_kind: str, visible: np.ndarray, normalisation: str = "instance",
               dataset_minmax: tuple[float, float] | None = None) -> np.ndarray:
    """The full chain on raw cutouts (N, 5, H, W): white light (optional) -> mask -> normalise; returns
    channels-last float32 (N, H, W, C) ready for Keras. ``visible`` is (H, W) or per item (N, H, W).
    Cutouts that are already white light (N, 1, H, W) are left as they are."""
    if input_kind not in INPUTS:
        raise ValueError(f"input must be one of {INPUTS}, got {input_kind!r}")
    x = np.asarray(cutouts, np.float32)
    if input_kind == "white_light" and x.shape[1] != 1:
        x = white_light(x)
    x = apply_mask(x, visible)
    x = normalise(x, visible, normalisation, dataset_minmax)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


# ------------------------------------------------------------------------------------------ samples and splits
def select_sample(log_ages: np.ndarray, sample: str) -> np.ndarray:
    """Indices of the clusters in a sample: ``full`` (6.0-10.14, all) or ``restricted`` (7.0 <= log age <= 9.5)."""
    a = np.asarray(log_ages)
    if sample == "full":
        lo, hi = FULL_LOG_AGE_RANGE
        return np.nonzero((a >= lo - 1e-6) & (a <= hi + 1e-6))[0]
    if sample == "restricted":
        lo, hi = RESTRICTED_LOG_AGE_RANGE
        return np.nonzero((a >= lo - 1e-6) & (a <= hi + 1e-6))[0]
    raise ValueError(f"sample must be one of {SAMPLES}, got {sample!r}")


def _study_shuffle(n: int, seed: int) -> np.ndarray:
    """``range(n)`` shuffled as the authors' code does: Python ``random.seed(seed); random.shuffle(...)``."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return np.asarray(order, dtype=np.int64)


def random_split(n: int, seed: int = 42, train_fraction: float = 0.7, **_) -> tuple[np.ndarray, ...]:
    """The study's split of ``range(n)``: Python ``random.seed(seed); random.shuffle(...)``, the first
    int(0.7 n) for training and the rest halved into validation and test (n = 8651 gives 6055/1298/1298)."""
    order = _study_shuffle(n, seed)
    n_train = int(train_fraction * n)
    n_val = (n - n_train) // 2
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]



def kfold_split(n: int, folds: int, fold: int, seed: int = 42, val_fraction: float = 0.15) -> tuple[np.ndarray, ...]:
    """Fold ``fold`` of a K-fold split of ``range(n)``: every position is in exactly one fold's test set.

    The positions are shuffled as in :func:`random_split` (Python ``random`` with ``seed``) and cut into ``folds``
    contiguous test sets; of the rest, in shuffled order, the first ``int(val_fraction x n)`` validate and the
    others train. With five folds: 65 / 15 / 20 %.

    Parameters
    ----------
    n : int
        Positions to split.
    folds : int
        Number of folds (>= 2).
    fold : int
        Which fold is held out for testing (0 .. folds - 1).
    seed : int
        Seed of the shuffle.
    val_fraction : float
        Share of all positions that validate.

    Returns
    -------
    tuple of ndarray
        Train, validation and test positions.

    Raises
    ------
    ValueError
        For fewer than two folds, a fold outside ``0 .. folds - 1``, or a validation share that leaves no
        training positions.
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f"need folds >= 2 and 0 <= fold < folds, got folds={folds}, fold={fold}")
    order = _study_shuffle(n, seed)
    lo, hi = fold * n // folds, (fold + 1) * n // folds
    rest = np.concatenate([order[:lo], order[hi:]])
    n_val = int(val_fraction * n)
    if n_val >= len(rest):
        raise ValueError(f"val_fraction={val_fraction} of {n} positions leaves nothing to train on in fold {fold}")
    return rest[n_val:], rest[:n_val], order[lo:hi]

def _fill_by_fraction(unit_sizes: np.ndarray, rng: np.random.Generator, fractions=(0.7, 0.15, 0.15)) -> np.ndarray:
    """Assign units (galaxies, tiles) in random order to test, then validation, then training, until each of the
    held-out sets reaches its share of the clusters. Returns the set (0 train, 1 val, 2 test) of each unit."""
    order = rng.permutation(len(unit_sizes))
    total = unit_sizes.sum()
    target = {2: fractions[2] * total, 1: fractions[1] * total}
    which = np.zeros(len(unit_sizes), int)
    filled = {1: 0.0, 2: 0.0}
    for u in order:
        for s in (2, 1):
            if filled[s] < target[s]:
                which[u] = s
                filled[s] += unit_sizes[u]
                break
    return which


def galaxy_split(n: int, seed: int = 42, catalogue=None, **_) -> tuple[np.ndarray, ...]:
    """Whole galaxies held out: test and validation galaxies are drawn (seeded) until each holds ~15 % of the
    clusters; the rest train. No galaxy contributes to two sets."""
    if catalogue is None or "galaxy_id" not in catalogue:
        raise ValueError("split 'galaxy' needs the catalogue's galaxy_id column")
    gal = catalogue["galaxy_id"].to_numpy()
    names, inv = np.unique(gal, return_inverse=True)
    if len(names) < 3:
        raise ValueError(f"split 'galaxy' needs at least 3 galaxies, the sample has {len(names)}: {list(names)}")
    which = _fill_by_fraction(np.bincount(inv), np.random.default_rng(seed))
    if (which == 0).sum() == 0:
        which[np.argmax(np.bincount(inv))] = 0
    sets = which[inv]
    return tuple(np.nonzero(sets == k)[0] for k in (0, 1, 2))


def spatial_split(n: int, seed: int = 42, catalogue=None, size_px: int = 112, tile_cutouts: int = 4,
                  **_) -> tuple[np.ndarray, ...]:
    """Overlap-free split: mosaic tiles of ``tile_cutouts`` x ``size_px`` are drawn to the sets (seeded), then
    every training or validation cluster whose cutout overlaps a test cutout (same galaxy, |dx| and |dy| both
    below ``size_px``) is dropped. So no test pixel was ever seen in training or validation."""
    need = {"galaxy_id", "x_px", "y_px"}
    if catalogue is None or not need <= set(catalogue.columns):
        raise ValueError(f"split 'spatial' needs catalogue columns {sorted(need)} (pixel positions); the study's "
                         f"own file has none - curate from products, or use split='galaxy'")
    gal = catalogue["galaxy_id"].to_numpy()
    x = catalogue["x_px"].to_numpy(float)
    y = catalogue["y_px"].to_numpy(float)
    tile = float(tile_cutouts * size_px)
    keys = np.array([f"{g}:{int(a // tile)}:{int(b // tile)}" for g, a, b in zip(gal, x, y)])
    names, inv = np.unique(keys, return_inverse=True)
    which = _fill_by_fraction(np.bincount(inv), np.random.default_rng(seed))[inv]
    test = np.nonzero(which == 2)[0]
    keep = np.ones(len(gal), bool)
    for g in np.unique(gal[test]):
        t = test[gal[test] == g]
        others = np.nonzero((gal == g) & (which != 2))[0]
        if len(others) and len(t):
            dx = np.abs(x[others, None] - x[None, t])
            dy = np.abs(y[others, None] - y[None, t])
            keep[others[((dx < size_px) & (dy < size_px)).any(axis=1)]] = False
    return (np.nonzero((which == 0) & keep)[0], np.nonzero((which == 1) & keep)[0], test)


def overlap_fraction(catalogue, held_out_idx, seen_idx, size_px: int = 112) -> float:
    """Share of the ``held_out_idx`` clusters whose cutout overlaps at least one ``seen_idx`` cutout (same galaxy,
    centres closer than ``size_px`` in both x and y): how much of a test set's pixels training could have seen."""
    held = np.asarray(held_out_idx)
    seen = np.asarray(seen_idx)
    if len(held) == 0:
        return float("nan")
    gal = catalogue["galaxy_id"].to_numpy()
    x = catalogue["x_px"].to_numpy(float)
    y = catalogue["y_px"].to_numpy(float)
    hit = np.zeros(len(held), bool)
    for g in np.unique(gal[held]):
        h = np.nonzero(gal[held] == g)[0]
        s = seen[gal[seen] == g]
        if len(s):
            dx = np.abs(x[held[h], None] - x[None, s])
            dy = np.abs(y[held[h], None] - y[None, s])
            hit[h] = ((dx < size_px) & (dy < size_px)).any(axis=1)
    return float(hit.mean())


#: Split strategies by name: each takes ``(n, seed=..., catalogue=..., size_px=...)`` and returns
#: (train, val, test) positions into the sample.
SPLITS: dict[str, Callable[..., tuple[np.ndarray, ...]]] = {"random": random_split, "galaxy": galaxy_split,
                                                           "spatial": spatial_split}


def make_split(strategy: str, n: int, seed: int = 42, catalogue=None, **kw) -> tuple[np.ndarray, ...]:
    """Split positions 0..n-1 with a named strategy from :data:`SPLITS` (extensible: register new ones there)."""
    if strategy not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {strategy!r}")
    return SPLITS[strategy](n, seed=seed, catalogue=catalogue, **kw)
