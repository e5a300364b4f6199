"""Feeding cutouts to a network: the order of an epoch's items, their augmentation and masks, and the inputs
every backend's pipeline is built from (numpy only: no backend is imported here).

One epoch of training is fixed by ``(seed, epoch)`` (:func:`epoch_items`): which cutout comes when, its rotation
by a multiple of 90 degrees, an optional left-right flip and, for amortised masking, its mask. The endless stream
of those items, cut into batches (:func:`index_stream`), is what every pipeline turns into images:

- **generator** (:func:`numpy_batches`): each batch is read (from memory or streamed from HDF5), preprocessed and
  augmented in numpy - any backend, memory flat in N, per-item masks (amortised masking) included;
- **tf.data** on TensorFlow (:mod:`~.tfdata`): the cutouts sit in memory as one tensor; each batch
  is gathered, masked, normalised and rotated as graph ops;
- **device-resident** on JAX (:mod:`~.resident`): the cutouts sit on the accelerator and a whole
  epoch of batches runs as one compiled loop.

All give the same batches for the same seed (tested), so the choice never changes what a network is shown.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..survey.cutouts import CutoutFile
from .preprocessing import preprocess

__all__ = ["EpochItems", "epoch_items", "dihedral_permutations", "augment", "numpy_batches", "InputSource",
           "raw_cutouts", "visible_ranges", "IndexBatch", "index_stream", "AmortisedInputs", "ROTATIONS"]

ROTATIONS = ("all", "random", "none")

_RAW_CACHE: dict[tuple, np.ndarray] = {}
#: One preprocessed array at a time, process-wide: a pipeline may keep old generators (and whatever they reference)
#: alive, so a per-training copy would accumulate until memory runs out.
_PRE_CACHE: dict[tuple, np.ndarray] = {}
#: Raw cutouts channels-last, one array per input kind, process-wide (every amortised model of a worker reuses it).
_NHWC_CACHE: dict[tuple, np.ndarray] = {}


@dataclass(frozen=True)
class EpochItems:
    """The items of one training epoch, in the order they are seen.

    Attributes
    ----------
    position : ndarray of int
        Position of the item in the training set.
    rotation : ndarray of int
        Quarter turns (0-3) applied to the cutout.
    flip : ndarray of bool
        Left-right flip after the rotation.
    mask_id : ndarray of int
        Index into the mask grid (amortised masking; all 0 otherwise).
    """

    position: np.ndarray
    rotation: np.ndarray
    flip: np.ndarray
    mask_id: np.ndarray

    def __len__(self) -> int:
        return len(self.position)

    def batches(self, batch_size: int):
        """Yield the items of each batch as ``EpochItems`` slices (the last batch may be short)."""
        for s in range(0, len(self), batch_size):
            sl = slice(s, s + batch_size)
            yield EpochItems(self.position[sl], self.rotation[sl], self.flip[sl], self.mask_id[sl])


def epoch_items(n: int, rotations: str, seed: int, epoch: int, flips: bool = False, n_masks: int = 1
                ) -> EpochItems:
    """The shuffled, augmented item order of one epoch over ``n`` training cutouts.

    Parameters
    ----------
    n : int
        Training-set size.
    rotations : {"all", "random", "none"}
        ``all``: each cutout appears in its 4 rotations (the study's x4); ``random``: once, with a random
        rotation; ``none``: once, unrotated.
    seed, epoch : int
        The order is a pure function of ``(seed, epoch)``.
    flips : bool
        A random left-right flip per item (the study found no gain; off by default).
    n_masks : int
        Amortised masking: each item gets a mask id drawn uniformly from ``range(n_masks)``.

    Raises
    ------
    ValueError
        For an unknown ``rotations``.
    """
    if rotations not in ROTATIONS:
        raise ValueError(f"rotations must be one of {ROTATIONS}, got {rotations!r}")
    rng = np.random.default_rng([seed, epoch])
    if rotations == "all":
        items = np.stack(np.meshgrid(np.arange(n), np.arange(4), indexing="ij"), -1).reshape(-1, 2)
    elif rotations == "random":
        items = np.column_stack([np.arange(n), rng.integers(0, 4, n)])
    else:
        items = np.column_stack([np.arange(n), np.zeros(n, int)])
    items = items[rng.permutation(len(items))]
    mask_id = rng.integers(0, n_masks, len(items))
    flip = rng.random(len(items)) < 0.5 if flips else np.zeros(len(items), bool)
    return EpochItems(items[:, 0], items[:, 1], flip, mask_id)


@functools.lru_cache(maxsize=8)
def dihedral_permutations(height: int, width: int) -> np.ndarray:
    """Pixel permutations of the 8 rotations / flips of an image: row ``rotation + 4 * flip`` gives, for each
    output pixel (flattened), the input pixel it takes (``np.rot90(x, rotation)`` then ``[:, ::-1]`` if flip).

    Returns
    -------
    ndarray of int32, shape (8, height * width)
    """
    if height != width:
        raise ValueError(f"rotations by 90 degrees need square cutouts, got {height} x {width}")
    idx = np.arange(height * width).reshape(height, width)
    out = []
    for flip in (False, True):
        for k in range(4):
            r = np.rot90(idx, k)
            out.append((r[:, ::-1] if flip else r).ravel())
    return np.asarray(out, np.int32)


def augment(batch_nhwc: np.ndarray, rotation, flip=None) -> np.ndarray:
    """Rotate each image of a channels-last batch by ``rotation`` quarter turns, then flip it left-right where
    ``flip`` is True (numpy; the tensor pipeline does the same with :func:`dihedral_permutations`)."""
    x = np.asarray(batch_nhwc)
    k = np.broadcast_to(np.asarray(rotation, int) % 4, (len(x),))
    out = np.empty_like(x)
    for q in range(4):
        sel = k == q
        if sel.any():
            out[sel] = np.rot90(x[sel], q, axes=(1, 2))
    if flip is not None:
        f = np.asarray(flip, bool)
        out[f] = out[f, :, ::-1]
    return out


def numpy_batches(fetch, y: np.ndarray, batch_size: int, rotations: str, seed: int, epoch: int,
                  flips: bool = False, n_masks: int = 1):
    """One epoch of training batches built in numpy (the generator pipeline).

    Parameters
    ----------
    fetch : callable or ndarray
        ``fetch(positions, mask_ids)`` returns the preprocessed channels-last batch; an array is indexed by
        position.
    y : ndarray
        Targets per training position.
    batch_size, rotations, seed, epoch, flips, n_masks
        As :func:`epoch_items`.

    Yields
    ------
    (ndarray, ndarray)
        Images (k, H, W, C) float32 and targets (k,) float32.
    """
    if not callable(fetch):
        arr = fetch
        fetch = lambda pos, _m: arr[pos]  # noqa: E731
    items = epoch_items(len(y), rotations, seed, epoch, flips, n_masks)
    for b in items.batches(batch_size):
        xb = augment(fetch(b.position, b.mask_id), b.rotation, b.flip if flips else None)
        yield xb, np.asarray(y, np.float32)[b.position]


def raw_cutouts(data: CutoutFile) -> np.ndarray:
    """All cutouts of a file (N, 5, H, W), read once per process and cached (keyed by path and fingerprint)."""
    key = (str(data.path), data.fingerprint())
    if key not in _RAW_CACHE:
        _RAW_CACHE.clear()
        _RAW_CACHE[key] = data.images(np.arange(data.n))
    return _RAW_CACHE[key]


class InputSource:
    """Raw cutouts of an experiment, served in preprocessed batches.

    ``mode="memory"`` reads the whole file once per process (cached across experiments) and, for a single mask,
    preprocesses every cutout once (normalisation is per instance, so this gives the same values as batch-wise
    preprocessing); ``mode="stream"`` reads and preprocesses each batch from the HDF5 file, so memory stays flat
    in N. Per-item masks (amortised masking) are always preprocessed batch by batch.

    Parameters
    ----------
    data : CutoutFile
    input_kind : {"five_band", "white_light"}
    normalisation : str
        See :func:`~.preprocessing.normalise`.
    mode : {"memory", "stream"}
    dataset_minmax : (float, float), optional
        For ``normalisation="dataset"``.
    """

    def __init__(self, data: CutoutFile, input_kind: str, normalisation: str, mode: str = "memory",
                 dataset_minmax: tuple[float, float] | None = None):
        if mode not in ("memory", "stream"):
            raise ValueError(f"input_mode must be 'memory' or 'stream', got {mode!r}")
        self.data, self.input_kind, self.normalisation, self.mode = data, input_kind, normalisation, mode
        self.dataset_minmax = dataset_minmax
        self._raw = raw_cutouts(data) if mode == "memory" else None

    def raw(self, file_idx: np.ndarray) -> np.ndarray:
        """Raw cutouts (k, C, H, W), reduced to white light for white-light experiments."""
        x = self._raw[file_idx] if self._raw is not None else self.data.images(file_idx)
        return x.mean(axis=1, keepdims=True, dtype=np.float32) if self.input_kind == "white_light" else x

    def channels_last(self) -> np.ndarray:
        """Every raw cutout of the file, channels-last (N, H, W, C), white light already averaged; memory mode only,
        cached per process (one array per input kind, shared by every amortised model the process trains)."""
        if self._raw is None:
            raise ValueError("InputSource.channels_last needs mode='memory'")
        key = (str(self.data.path), self.data.fingerprint(), self.input_kind)
        if key not in _NHWC_CACHE:
            if any(k[:2] != key[:2] for k in _NHWC_CACHE):
                _NHWC_CACHE.clear()
            _NHWC_CACHE[key] = np.ascontiguousarray(self.raw(np.arange(self.data.n)).transpose(0, 2, 3, 1))
        return _NHWC_CACHE[key]

    def preprocessed(self, visible: np.ndarray) -> np.ndarray:
        """Every cutout of the file preprocessed, channels-last (N, H, W, C); memory mode only, cached (one array
        per process).

        Parameters
        ----------
        visible : ndarray of bool
            One (H, W) mask for every cutout, or one per cutout of the file (N, H, W).
        """
        if self._raw is None:
            raise ValueError("InputSource.preprocessed needs mode='memory'")
        key = (str(self.data.path), self.data.fingerprint(), self.input_kind, self.normalisation,
               self.dataset_minmax, np.packbits(visible).tobytes())
        if key not in _PRE_CACHE:
            _PRE_CACHE.clear()
            c = 1 if self.input_kind == "white_light" else self.data.shape[0]
            h, w = self.data.shape[1:]
            out = np.empty((self.data.n, h, w, c), np.float32)
            for s in range(0, self.data.n, 256):
                idx = np.arange(s, min(s + 256, self.data.n))
                vis = visible[idx] if visible.ndim == 3 else visible
                out[idx] = preprocess(self.raw(idx), self.input_kind, vis, self.normalisation, self.dataset_minmax)
            _PRE_CACHE[key] = out
        return _PRE_CACHE[key]

    def batch(self, file_idx: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """Preprocessed channels-last batch; ``visible`` is (H, W) or per item (k, H, W)."""
        if self._raw is not None and visible.ndim == 2:
            return self.preprocessed(visible)[file_idx]
        return preprocess(self.raw(file_idx), self.input_kind, visible, self.normalisation, self.dataset_minmax)


def visible_ranges(raw_nhwc: np.ndarray, masks: np.ndarray, mask_index: np.ndarray, rows=None,
                   chunk: int = 256) -> np.ndarray:
    """Minimum and maximum of each cutout over the visible pixels (all channels) of each mask it can draw, as the
    ``instance`` normalisation computes them (0 where no pixel is visible, for a mask the cutout never draws, and
    for cutouts outside ``rows``).

    Parameters
    ----------
    raw_nhwc : ndarray, shape (N, H, W, C)
    masks : ndarray of bool, shape (M, H, W)
        Visible-pixel masks.
    mask_index : ndarray of int, shape (N, G)
        The masks each cutout draws (:class:`GraphMasking`).
    rows : array of int, optional
        The cutouts that will be used (default: all).
    chunk : int
        Cutouts per block (bounds the temporary memory).

    Returns
    -------
    ndarray, shape (N, M, 2), float32
        ``[..., 0]``: the minimum, ``[..., 1]``: the maximum.
    """
    masks = np.asarray(masks, bool)
    mask_index = np.asarray(mask_index)
    rows = np.arange(len(raw_nhwc)) if rows is None else np.unique(np.asarray(rows, np.int64))
    out = np.zeros((len(raw_nhwc), len(masks), 2), np.float32)
    # Pixels fall into cells by the set of masks that show them (nested circles: one ring each); a mask's extreme
    # is the extreme of its cells' extremes, so each cutout is reduced once per cell, not once per mask.
    member, cell = np.unique(masks.reshape(len(masks), -1).T, axis=0, return_inverse=True)
    order = np.argsort(cell.ravel(), kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(cell.ravel()[order]) != 0])
    for s in range(0, len(rows), chunk):
        idx = rows[s:s + chunk]
        block = np.asarray(raw_nhwc[idx], np.float32)
        k = len(idx)
        lo, hi = block[..., 0].copy(), block[..., 0].copy()      # over channels first: (k, H, W), one plane
        for c in range(1, block.shape[3]):                         # at a time (4x faster than min(axis=3))
            np.minimum(lo, block[..., c], out=lo)
            np.maximum(hi, block[..., c], out=hi)
        lo = np.minimum.reduceat(lo.reshape(k, -1)[:, order], starts, axis=1)   # (k, cells)
        hi = np.maximum.reduceat(hi.reshape(k, -1)[:, order], starts, axis=1)
        for j in np.unique(mask_index[idx]):
            if not masks[j].any():
                continue
            r = np.flatnonzero((mask_index[idx] == j).any(axis=1))
            out[idx[r], j, 0] = lo[r][:, member[:, j]].min(axis=1)
            out[idx[r], j, 1] = hi[r][:, member[:, j]].max(axis=1)
    out[~np.isfinite(out)] = 0.0                                   # as the graph did: a non-finite range is 0
    return out


@dataclass(frozen=True)
class IndexBatch:
    """One training batch as indices: which cutouts, at which grid diameter, turned how, and their targets.

    Attributes
    ----------
    file_index : ndarray of int64
        Index of each item in the cutout file.
    grid_position : ndarray of int32
        Position of each item's mask diameter in the mask grid (amortised masking; all 0 otherwise).
    dihedral : ndarray of int32
        Rotation and flip of each item: ``rotation + 4 x flip``, a row of :func:`dihedral_permutations`.
    target : ndarray of float32
        Each item's (scaled) label.
    """

    file_index: np.ndarray
    grid_position: np.ndarray
    dihedral: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.file_index)


def index_stream(file_idx: np.ndarray, y: np.ndarray, batch_size: int, rotations: str, seed: int,
                 flips: bool = False, n_masks: int = 1) -> Iterator[IndexBatch]:
    """The endless stream of training batches as indices: epoch 0's batches (:func:`epoch_items`), then epoch
    1's, and so on; the last batch of each epoch may be short.

    Parameters
    ----------
    file_idx : ndarray of int
        File index of each training position.
    y : ndarray
        Target of each training position.
    batch_size, rotations, seed, flips, n_masks
        As :func:`epoch_items` (``n_masks``: the size of the amortised mask grid).
    """
    fidx = np.asarray(file_idx, np.int64)
    yy = np.asarray(y, np.float32)
    e = 0
    while True:  # epoch e's batches are fixed by (seed, e)
        for b in epoch_items(len(fidx), rotations, seed, e, flips, n_masks).batches(batch_size):
            yield IndexBatch(fidx[b.position], b.mask_id.astype(np.int32),
                             (b.rotation + 4 * b.flip).astype(np.int32), yy[b.position])
        e += 1


@dataclass(frozen=True)
class AmortisedInputs:
    """Everything an amortised model's inputs are made from, on the host: raw cutouts, the masks they can draw
    and each cutout's normalisation range under each mask. A backend's pipeline puts it on its device and makes
    each item with :meth:`batch`'s arithmetic (the ``instance`` normalisation of
    :func:`~.preprocessing.normalise`, bit for bit).

    Attributes
    ----------
    raw_nhwc : ndarray, shape (N, H, W, C), float32
        Every cutout of the file, unnormalised, channels-last (white light already averaged).
    masks : ndarray of bool, shape (M, H, W)
        Visible-pixel masks.
    mask_index : ndarray of int32, shape (N, G)
        For each cutout and each of the G diameters of the grid, the mask it sees (in pc the mask depends on the
        cluster's galaxy).
    ranges : ndarray of float32, shape (N, M, 2)
        Minimum and maximum of each cutout over each mask's visible pixels (:func:`visible_ranges`).
    """

    raw_nhwc: np.ndarray
    masks: np.ndarray
    mask_index: np.ndarray
    ranges: np.ndarray

    @classmethod
    def build(cls, raw_nhwc: np.ndarray, masks: np.ndarray, mask_index: np.ndarray, rows=None) -> AmortisedInputs:
        """Compute the ranges of ``rows`` (default: every cutout) under every mask they draw."""
        raw = np.asarray(raw_nhwc, np.float32)
        masks = np.asarray(masks, bool)
        mask_index = np.asarray(mask_index, np.int32)
        return cls(raw, masks, mask_index, visible_ranges(raw, masks, mask_index, rows))

    def batch(self, file_idx, grid_position) -> np.ndarray:
        """Normalised, unrotated inputs (k, H, W, C) of cutouts ``file_idx`` at one grid position (an int) or
        each at its own (an array of k positions), in numpy."""
        idx = np.asarray(file_idx, np.int64)
        m = self.mask_index[idx, grid_position]
        lo_hi = self.ranges[idx, m]
        lo = lo_hi[:, 0, None, None, None]
        span = (lo_hi[:, 1] - lo_hi[:, 0])[:, None, None, None]
        shown = self.masks[m][..., None] & (span > 0)
        scaled = np.clip((self.raw_nhwc[idx] - lo) / np.where(span > 0, span, np.float32(1.0)), 0.0, 1.0)
        return np.where(shown, scaled, np.float32(0.0)).astype(np.float32)
