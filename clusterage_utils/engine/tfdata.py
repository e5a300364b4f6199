"""The ``tf.data`` input pipelines of the TensorFlow backend: batches gathered, masked, normalised and rotated as
graph ops from cutouts held in memory as one tensor, with prefetching.

They turn :func:`~.inputs.index_stream` into images exactly as the numpy generator does
(:func:`~.inputs.numpy_batches`, tested); the other backends use the generator or the
device-resident loop (:mod:`~.resident`). Importing this module imports nothing; each function
imports TensorFlow when called.
"""
from __future__ import annotations

import numpy as np

from .inputs import AmortisedInputs, dihedral_permutations, index_stream, numpy_batches

__all__ = ["tensor_dataset", "generator_dataset", "GraphMasking", "masked_tensor_dataset"]


def _tf():
    from .runtime import quiet_import_tf

    return quiet_import_tf()


def _rotate(tf, x, perms, code, h: int, w: int, c: int):
    """Rotate / flip each image of a batch by its dihedral code with a pixel permutation."""
    out = tf.gather(tf.reshape(x, (-1, h * w, c)), tf.gather(perms, code), batch_dims=1)
    return tf.reshape(out, (-1, h, w, c))


def tensor_dataset(images, file_idx: np.ndarray, y: np.ndarray, batch_size: int, rotations: str, seed: int,
                   flips: bool = False):
    """Endless training batches gathered from an in-memory tensor and augmented in the graph.

    Parameters
    ----------
    images : ndarray or tf.Tensor, shape (N, H, W, C)
        Every cutout of the file, preprocessed (one mask for all).
    file_idx : ndarray of int
        File index of each training position.
    y : ndarray
        Target of each training position.
    batch_size, rotations, seed, flips
        As :func:`~.inputs.epoch_items`.

    Returns
    -------
    tf.data.Dataset
        ``(images (k, H, W, C), targets (k,))``, the same batches as :func:`~.inputs.numpy_batches`;
        one epoch is ``ceil(len(epoch_items) / batch_size)`` batches.
    """
    tf = _tf()
    x = tf.convert_to_tensor(images, tf.float32)
    _, h, w, c = x.shape
    perms = tf.constant(dihedral_permutations(h, w))

    def index_batches():
        for b in index_stream(file_idx, y, batch_size, rotations, seed, flips):
            yield b.file_index, b.dihedral, b.target

    sig = (tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.float32))

    def gather(i, code, target):
        return _rotate(tf, tf.gather(x, i), perms, code, h, w, c), target

    return tf.data.Dataset.from_generator(index_batches, output_signature=sig).map(gather).prefetch(2)


def generator_dataset(fetch, y: np.ndarray, batch_size: int, rotations: str, seed: int, flips: bool = False,
                      n_masks: int = 1, image_shape: tuple[int, int, int] | None = None):
    """Endless training batches from :func:`~.inputs.numpy_batches` (streamed input, per-item
    masks, normalisations other than ``instance``).

    Parameters
    ----------
    fetch : callable
        ``fetch(positions, mask_ids)`` -> preprocessed channels-last batch.
    y : ndarray
        Targets per training position.
    image_shape : (H, W, C)
        Shape of one preprocessed cutout.
    """
    tf = _tf()

    def gen():
        e = 0
        while True:
            yield from numpy_batches(fetch, y, batch_size, rotations, seed, e, flips, n_masks)
            e += 1

    sig = (tf.TensorSpec((None, *image_shape), tf.float32), tf.TensorSpec((None,), tf.float32))
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


class GraphMasking:
    """An amortised model's inputs (:class:`~.inputs.AmortisedInputs`) held as tensors: each item's
    mask is looked up and the item normalised over its visible pixels in the graph, for training
    (:meth:`dataset`) and evaluation at each grid diameter (:meth:`batch`).

    Parameters
    ----------
    inputs : AmortisedInputs
    """

    def __init__(self, inputs: AmortisedInputs):
        tf = self.tf = _tf()
        self.x = tf.convert_to_tensor(inputs.raw_nhwc)
        self.vis = tf.constant(inputs.masks)
        self.mask_index = inputs.mask_index
        _, self.h, self.w, self.c = self.x.shape
        self._range = tf.constant(inputs.ranges)
        self._normalised = tf.function(self._gather_normalise, reduce_retracing=True)

    def _gather_normalise(self, i, m):
        tf = self.tf
        xb = tf.gather(self.x, i)
        vis = tf.gather(self.vis, m)[..., None]
        lo_hi = tf.gather_nd(self._range, tf.stack([tf.cast(i, tf.int32), m], axis=1))   # (k, 2)
        lo, span = lo_hi[:, 0, None, None, None], (lo_hi[:, 1] - lo_hi[:, 0])[:, None, None, None]
        shown = tf.logical_and(vis, span > 0)                     # a flat cutout normalises to 0
        return tf.where(shown, tf.clip_by_value((xb - lo) / tf.where(span > 0, span, 1.0), 0.0, 1.0), 0.0)

    def batch(self, file_idx: np.ndarray, grid_position):
        """Normalised, unrotated inputs (k, H, W, C) of clusters ``file_idx`` at one grid diameter
        (``grid_position``: an int), or each at its own (an array of k positions)."""
        idx = np.asarray(file_idx, np.int64)
        return self._normalised(idx, self.mask_index[idx, grid_position])

    def dataset(self, file_idx: np.ndarray, y: np.ndarray, batch_size: int, rotations: str, seed: int,
                flips: bool = False):
        """Endless training batches: each item gets the grid diameter drawn for it by
        :func:`~.inputs.epoch_items` (``n_masks = G``), its mask, its normalisation and its
        rotation / flip - the same batches as :func:`~.inputs.numpy_batches` over the generator
        pipeline with these masks."""
        tf = self.tf
        h, w, c = self.h, self.w, self.c
        perms = tf.constant(dihedral_permutations(h, w))
        mtab = self.mask_index

        def index_batches():
            for b in index_stream(file_idx, y, batch_size, rotations, seed, flips, mtab.shape[1]):
                yield b.file_index, mtab[b.file_index, b.grid_position], b.dihedral, b.target

        def prepare(i, m, code, target):
            return _rotate(tf, self._gather_normalise(i, m), perms, code, h, w, c), target

        sig = (tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None,), tf.int32),
               tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.float32))
        return tf.data.Dataset.from_generator(index_batches, output_signature=sig).map(prepare).prefetch(2)


def masked_tensor_dataset(raw_nhwc, masks: np.ndarray, mask_index: np.ndarray, file_idx: np.ndarray,
                          y: np.ndarray, batch_size: int, rotations: str, seed: int, flips: bool = False):
    """Endless amortised-masking training batches, all in the graph (:meth:`GraphMasking.dataset`)."""
    inputs = AmortisedInputs.build(raw_nhwc, masks, mask_index)
    return GraphMasking(inputs).dataset(file_idx, y, batch_size, rotations, seed, flips)
