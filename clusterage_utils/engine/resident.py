"""Device-resident training on the JAX backend: the cutouts stay on the accelerator and an epoch runs as one
compiled loop.

Keras' ``fit()`` feeds a network batch by batch from the host; on a GPU the study's small network then waits on
its input (issue 25 measured 4-10x below what the device can do). Here the cutouts (preprocessed, or raw with
their masks for amortised masking, :class:`~.inputs.AmortisedInputs`) are put on the device once;
each epoch, only the indices of its batches (:func:`~.inputs.index_stream`) travel, and one
jitted ``lax.scan`` gathers, masks, normalises and rotates each batch and applies Keras' stateless training step
(``model.stateless_call``, ``optimizer.stateless_apply``), compiled once for every network of one shape. Early
stopping is Keras' own callback, driven once per epoch. The batches are exactly those of the other pipelines
(tested); the loss is Keras' mean squared error. Short batches (the end of an epoch of items) are padded and
given zero weight, so every step has one shape.

Importing this module imports nothing; :class:`ResidentInputs` and :func:`fit_resident` import JAX.
"""
from __future__ import annotations

import numpy as np

from .inputs import AmortisedInputs, IndexBatch, dihedral_permutations

__all__ = ["ResidentInputs", "ResidentModel", "fit_resident", "stack_batches"]

#: Items per compiled prediction call (padded): one shape, one compilation.
PREDICT_BATCH = 256


class ResidentInputs:
    """Cutouts on the JAX device, made into a network's inputs there.

    The device arrays (:attr:`arrays`) are passed to the compiled functions as arguments, never captured in
    them: an executable compiled for one network serves every network of the same shape and inputs of the same
    shapes, and no cutout is baked into it as a constant.

    Parameters
    ----------
    preprocessed : ndarray (N, H, W, C), optional
        Every cutout of the file preprocessed with one mask (retraining).
    amortised : AmortisedInputs, optional
        Raw cutouts, masks and normalisation ranges (amortised masking). Exactly one of the two is given.
    """

    def __init__(self, preprocessed: np.ndarray | None = None, amortised: AmortisedInputs | None = None):
        import jax.numpy as jnp

        if (preprocessed is None) == (amortised is None):
            raise ValueError("ResidentInputs needs either preprocessed cutouts or amortised inputs")
        self.amortised = amortised is not None
        x = amortised.raw_nhwc if self.amortised else np.asarray(preprocessed, np.float32)
        _, h, w, _ = x.shape
        self.arrays = {"x": jnp.asarray(x), "perms": jnp.asarray(dihedral_permutations(h, w))}
        if self.amortised:
            self.arrays.update(masks=jnp.asarray(amortised.masks), mask_index=jnp.asarray(amortised.mask_index),
                               ranges=jnp.asarray(amortised.ranges))

    def unrotated(self, file_idx, grid_position):
        """Inputs (k, H, W, C) of cutouts ``file_idx`` at their grid positions (the own mask for preprocessed
        cutouts)."""
        return _unrotated(self.arrays, file_idx, grid_position, self.amortised)

    def batch(self, file_idx, grid_position, dihedral):
        """Training inputs: :meth:`unrotated`, then each item turned by its dihedral code."""
        return _batch(self.arrays, file_idx, grid_position, dihedral, self.amortised)


def _unrotated(arrays: dict, file_idx, grid_position, amortised: bool):
    """Traceable: inputs of cutouts ``file_idx`` from the device arrays (masked and normalised if amortised)."""
    import jax.numpy as jnp

    xb = arrays["x"][file_idx]
    if not amortised:
        return xb
    m = arrays["mask_index"][file_idx, grid_position]
    lo_hi = arrays["ranges"][file_idx, m]
    lo = lo_hi[:, 0, None, None, None]
    span = (lo_hi[:, 1] - lo_hi[:, 0])[:, None, None, None]
    shown = jnp.logical_and(arrays["masks"][m][..., None], span > 0)
    scaled = jnp.clip((xb - lo) / jnp.where(span > 0, span, 1.0), 0.0, 1.0)
    return jnp.where(shown, scaled, 0.0)


def _batch(arrays: dict, file_idx, grid_position, dihedral, amortised: bool):
    """Traceable: :func:`_unrotated`, then each item turned by its dihedral code (a pixel permutation)."""
    import jax.numpy as jnp

    xb = _unrotated(arrays, file_idx, grid_position, amortised)
    k, h, w, c = xb.shape
    xb = jnp.take_along_axis(xb.reshape(k, h * w, c), arrays["perms"][dihedral][..., None], axis=1)
    return xb.reshape(k, h, w, c)


def stack_batches(stream, steps: int, batch_size: int) -> dict[str, np.ndarray]:
    """The next ``steps`` batches of an index stream as arrays of shape (steps, batch_size), short batches padded
    with weight 0: ``file_index``, ``grid_position``, ``dihedral``, ``target``, ``weight``."""
    out = {"file_index": np.zeros((steps, batch_size), np.int32),
           "grid_position": np.zeros((steps, batch_size), np.int32),
           "dihedral": np.zeros((steps, batch_size), np.int32),
           "target": np.zeros((steps, batch_size), np.float32),
           "weight": np.zeros((steps, batch_size), np.float32)}
    for s in range(steps):
        b: IndexBatch = next(stream)
        k = len(b)
        out["file_index"][s, :k] = b.file_index
        out["grid_position"][s, :k] = b.grid_position
        out["dihedral"][s, :k] = b.dihedral
        out["target"][s, :k] = b.target
        out["weight"][s, :k] = 1.0
    return out


#: Compiled functions per (architecture, optimizer, input kind): every network of one shape shares them.
_COMPILED: dict[str, tuple] = {}


def _signature(model) -> list:
    """What a network computes, without its layers' names and initializer seeds (which differ between networks
    of one architecture): each layer's class, activation and dtype policy, and each variable's shape."""
    layers = [(type(layer).__name__, getattr(getattr(layer, "activation", None), "__name__", None),
               layer.dtype_policy.name) for layer in model.layers]
    return [layers, [(tuple(v.shape), str(v.dtype)) for v in model.variables], tuple(model.input_shape)]


def _optimizer_signature(opt) -> list:
    """An optimizer's class, hyper-parameters and learning rate (a schedule by its class and configuration),
    read directly: ``get_config`` would serialise a schedule through Keras' saving code, which imports
    TensorFlow."""
    lr = getattr(opt, "_learning_rate", None)
    rate = [type(lr).__name__, lr.get_config()] if hasattr(lr, "get_config") else float(opt.learning_rate)
    hyper = {k: getattr(opt, k, None) for k in ("beta_1", "beta_2", "epsilon", "amsgrad", "clipnorm",
                                                  "global_clipnorm", "clipvalue", "weight_decay")}
    return [type(opt).__name__, rate, hyper]


def _compiled(model, amortised: bool) -> tuple:
    """The jitted ``(epoch, predict, predict_at)`` of networks shaped like ``model`` (it becomes their template:
    its ``stateless_call`` and its optimizer's ``stateless_apply`` are pure functions of the variables passed)."""
    import json

    import jax
    import jax.numpy as jnp

    key = json.dumps([_signature(model), _optimizer_signature(model.optimizer), amortised], sort_keys=True,
                     default=str)
    if key in _COMPILED:
        return _COMPILED[key]
    opt = model.optimizer

    def forward(tv, ntv, x, training):
        pred, ntv = model.stateless_call(tv, ntv, x, training=training)
        return pred[:, 0].astype("float32"), ntv

    def epoch(state, data, batches):
        def step(carry, b):
            tv, ntv, ov = carry
            x = _batch(data, b["file_index"], b["grid_position"], b["dihedral"], amortised)

            def loss_fn(tv):
                pred, new_ntv = forward(tv, ntv, x, True)
                n = jnp.maximum(b["weight"].sum(), 1.0)
                return ((pred - b["target"]) ** 2 * b["weight"]).sum() / n, new_ntv

            (loss, ntv), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv)
            tv, ov = opt.stateless_apply(ov, grads, tv)
            return (tv, ntv, ov), loss * b["weight"].sum()

        state, weighted = jax.lax.scan(step, state, batches)
        return state, weighted.sum() / jnp.maximum(batches["weight"].sum(), 1.0)

    def predict(tv, ntv, x):
        return forward(tv, ntv, x, False)[0]

    def predict_at(tv, ntv, data, file_idx, grid_position):
        return forward(tv, ntv, _unrotated(data, file_idx, grid_position, amortised), False)[0]

    # no donation of the state: early stopping keeps snapshots of it
    _COMPILED[key] = (model, jax.jit(epoch), jax.jit(predict), jax.jit(predict_at))
    return _COMPILED[key]


class ResidentModel:
    """A compiled Keras model whose variables live as JAX arrays between compiled epochs.

    Parameters
    ----------
    model : keras.Model
        Built and compiled (its optimizer is used statelessly).
    inputs : ResidentInputs
    """

    def __init__(self, model, inputs: ResidentInputs):
        self.model, self.inputs = model, inputs
        opt = model.optimizer
        if not opt.built:
            opt.build(model.trainable_variables)
        self.state = ([v.value for v in model.trainable_variables],
                      [v.value for v in model.non_trainable_variables],
                      [v.value for v in opt.variables])
        _, self._epoch, self._predict, self._predict_at = _compiled(model, inputs.amortised)
        self.stop_training = False

    # -- what Keras' callbacks call (the shim of a model for EarlyStopping)
    def get_weights(self):
        """The current variables (immutable device arrays: a snapshot costs nothing)."""
        return self.state

    def set_weights(self, state) -> None:
        self.state = state

    def train_epoch(self, arrays: dict[str, np.ndarray]) -> float:
        """Run one epoch of stacked batches (:func:`stack_batches`); returns its mean training loss."""
        self.state, loss = self._epoch(self.state, self.inputs.arrays, arrays)
        return float(loss)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Outputs (k,) for host inputs (k, H, W, C), in padded blocks of :data:`PREDICT_BATCH`."""
        tv, ntv, _ = self.state
        out = []
        for s in range(0, len(x), PREDICT_BATCH):
            xb = np.asarray(x[s:s + PREDICT_BATCH], np.float32)
            k = len(xb)
            if k < PREDICT_BATCH:
                xb = np.concatenate([xb, np.zeros((PREDICT_BATCH - k, *xb.shape[1:]), np.float32)])
            out.append(np.asarray(self._predict(tv, ntv, xb))[:k])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def predict_at(self, file_idx: np.ndarray, grid_position: int = 0) -> np.ndarray:
        """Outputs (k,) for cutouts ``file_idx`` made into inputs on the device at one grid position."""
        tv, ntv, _ = self.state
        idx = np.asarray(file_idx, np.int32)
        out = []
        for s in range(0, len(idx), PREDICT_BATCH):
            b = idx[s:s + PREDICT_BATCH]
            k = len(b)
            padded = np.zeros(PREDICT_BATCH, np.int32)
            padded[:k] = b
            pos = np.full(PREDICT_BATCH, grid_position, np.int32)
            out.append(np.asarray(self._predict_at(tv, ntv, self.inputs.arrays, padded, pos))[:k])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def write_back(self) -> None:
        """Copy the current variables into the Keras model (for ``predict``, saving, attribution)."""
        tv, ntv, ov = self.state
        for v, value in zip(self.model.trainable_variables, tv):
            v.assign(value)
        for v, value in zip(self.model.non_trainable_variables, ntv):
            v.assign(value)
        for v, value in zip(self.model.optimizer.variables, ov):
            v.assign(value)


def fit_resident(resident: ResidentModel, stream, steps: int, batch_size: int, epochs: int, x_val: np.ndarray,
                 y_val: np.ndarray, callbacks: list) -> dict[str, list[float]]:
    """Train for at most ``epochs`` epochs of ``steps`` batches from ``stream``, validating on ``x_val`` after
    each, with Keras callbacks (early stopping); the variables end in the Keras model.

    Returns
    -------
    dict
        The history, as Keras' ``History.history``: ``loss`` and ``val_loss`` per epoch.
    """
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    y_val = np.asarray(y_val, np.float64)
    for cb in callbacks:
        cb.set_model(resident)
        cb.on_train_begin()
    resident.stop_training = False
    for epoch in range(epochs):
        loss = resident.train_epoch(stack_batches(stream, steps, batch_size))
        val = float(np.mean((resident.predict_array(x_val).astype(np.float64) - y_val) ** 2))
        history["loss"].append(loss)
        history["val_loss"].append(val)
        for cb in callbacks:
            cb.on_epoch_end(epoch, {"loss": loss, "val_loss": val})
        if resident.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    resident.write_back()
    return history
