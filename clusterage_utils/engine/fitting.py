"""How one network is fed and fitted on each Keras backend.

Three pipelines make the same batches (:mod:`~.inputs`) and differ only in where the work runs:

``tf.data`` (TensorFlow)
    Cutouts in memory as one tensor, batches made in the graph, Keras' ``fit`` (:mod:`~.tfdata`).
``resident`` (JAX, input in memory)
    Cutouts on the device, an epoch as one compiled loop (:mod:`~.resident`).
``generator`` (any backend; streamed input; normalisations other than ``instance`` for amortised models)
    Batches made in numpy, Keras' ``fit`` on a Python generator.

:func:`make_feed` chooses the pipeline from the backend and the input mode; :func:`fit_network` trains one
network on it and :func:`predict` evaluates it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .inputs import AmortisedInputs, InputSource, index_stream, numpy_batches

__all__ = ["PIPELINES", "choose_pipeline", "Feed", "make_feed", "fit_network", "predict", "measure_throughput"]

PIPELINES = ("tf.data", "resident", "generator")


def choose_pipeline(backend: str, input_mode: str) -> str:
    """The pipeline for a backend and a resolved input mode (``memory`` or ``stream``): ``tf.data`` on
    TensorFlow, ``resident`` on JAX with input in memory, else ``generator``."""
    if backend == "tensorflow":
        return "tf.data"
    return "resident" if backend == "jax" and input_mode == "memory" else "generator"


@dataclasses.dataclass
class Feed:
    """One split's inputs, on its pipeline.

    Attributes
    ----------
    pipeline : {"tf.data", "resident", "generator"}
    source : InputSource
        Preprocesses any cutouts with any mask in numpy (evaluation off the training masks).
    grid : list of float
        The mask diameters the networks are trained on.
    fetch : callable
        ``fetch(file_idx, grid_positions)``: preprocessed inputs in numpy at grid positions (one per item).
    preprocessed : ndarray (N, H, W, C), optional
        Every cutout with the split's one mask (retraining, input in memory).
    amortised : AmortisedInputs, optional
        Amortised masking in memory with ``instance`` normalisation.
    graph : tfdata.GraphMasking, optional
        ``amortised`` as TensorFlow tensors.
    device : resident.ResidentInputs, optional
        ``preprocessed`` or ``amortised`` on the JAX device.
    """

    pipeline: str
    source: InputSource
    grid: list
    fetch: object
    preprocessed: np.ndarray | None = None
    amortised: AmortisedInputs | None = None
    graph: object = None
    device: object = None

    def grid_position(self, diameter, unit: str) -> int | None:
        """Position of a pixel diameter in the grid for the in-memory amortised inputs (None: not on them)."""
        if self.amortised is None or unit != "px" or diameter not in self.grid:
            return None
        return self.grid.index(diameter)

    def evaluation_inputs(self, file_idx: np.ndarray, grid_position):
        """Unrotated inputs at grid positions from the in-memory inputs (one int or one per item)."""
        if self.graph is not None:
            return np.asarray(self.graph.batch(file_idx, grid_position))
        return self.amortised.batch(file_idx, grid_position)


def make_feed(pipeline: str, source: InputSource, grid: list, fetch, preprocessed=None, amortised=None) -> Feed:
    """Put a split's in-memory inputs where its pipeline needs them (TensorFlow tensors, the JAX device)."""
    feed = Feed(pipeline, source, list(grid), fetch, preprocessed, amortised)
    if pipeline == "tf.data" and amortised is not None:
        from .tfdata import GraphMasking

        feed.graph = GraphMasking(amortised)
    elif pipeline == "resident" and (preprocessed is not None or amortised is not None):
        from .resident import ResidentInputs

        feed.device = ResidentInputs(preprocessed, amortised)
    elif pipeline == "resident":
        feed.pipeline = "generator"            # streamed input: nothing to keep on the device
    return feed


def _training_data(feed: Feed, train_idx, y_train, settings, seed: int, image_shape):
    """What ``fit`` reads for one network's training stream (seed: its order, rotations and masks)."""
    st, n_masks = settings, len(feed.grid)

    def fetch(positions, grid_positions):
        return feed.fetch(train_idx[positions], grid_positions)

    if feed.pipeline == "tf.data":
        from .tfdata import generator_dataset, tensor_dataset

        if feed.preprocessed is not None:
            return tensor_dataset(feed.preprocessed, train_idx, y_train, st.batch_size, st.rotations, seed, st.flips)
        if feed.graph is not None:
            return feed.graph.dataset(train_idx, y_train, st.batch_size, st.rotations, seed, st.flips)
        return generator_dataset(fetch, y_train, st.batch_size, st.rotations, seed, st.flips, n_masks,
                                 image_shape=image_shape)
    if feed.pipeline == "resident":
        return index_stream(train_idx, y_train, st.batch_size, st.rotations, seed, st.flips, n_masks)

    def batches():
        e = 0
        while True:
            yield from numpy_batches(fetch, y_train, st.batch_size, st.rotations, seed, e, st.flips, n_masks)
            e += 1
    return batches()


def fit_network(model, feed: Feed, train_idx, y_train, settings, seed: int, steps: int, x_val, y_val,
                callbacks: list, verbose: int = 0, resident=None):
    """Train one compiled network on a feed; returns ``(history, resident)``.

    ``history`` is Keras' ``History.history`` (``loss``, ``val_loss`` per epoch); ``resident`` is the
    :class:`~.resident.ResidentModel` that trains and evaluates it on the device (resident
    pipeline; pass it back to continue training without compiling again), else None. The callbacks' early
    stopping leaves the best weights in ``model``.
    """
    data = _training_data(feed, train_idx, y_train, settings, seed, model.input_shape[1:])
    if feed.pipeline == "resident":
        from .resident import ResidentModel, fit_resident

        resident = resident or ResidentModel(model, feed.device)
        history = fit_resident(resident, data, steps, settings.batch_size, settings.epochs, x_val, y_val, callbacks)
        return history, resident
    hist = model.fit(data, epochs=settings.epochs, steps_per_epoch=steps, validation_data=(x_val, y_val),
                     validation_batch_size=128, callbacks=callbacks, shuffle=False, verbose=verbose)
    return hist.history, None


def predict(model, resident, x=None, file_idx=None, grid_position: int = 0) -> np.ndarray:
    """Network outputs (k,) as float64: for host inputs ``x``, or (resident pipeline) for cutouts ``file_idx``
    made into inputs on the device at ``grid_position``."""
    if resident is not None:
        out = resident.predict_at(file_idx, grid_position) if x is None else resident.predict_array(x)
    else:
        out = np.asarray(model.predict_on_batch(x))
    return np.asarray(out, np.float64).ravel()


def measure_throughput(image_shape: tuple[int, int, int], settings, n_train: int = 2048, n_val: int = 512,
                       epochs: int = 2, seed: int = 0) -> dict[str, float]:
    """Training and prediction speed of a profile's network through this process's pipeline (the one the book
    trains with on this backend and device), on random cutouts held in memory.

    One epoch is trained first and not timed (compilation); then ``epochs`` epochs are timed, each with its
    validation pass, as in training.

    Parameters
    ----------
    image_shape : (H, W, C)
        Network input (C = 5 bands or 1 for white light).
    settings : TrainingSettings
        Width, batch size, precision, rotations, ... of the network and its recipe.
    n_train, n_val : int
        Training and validation cutouts of the synthetic epochs.

    Returns
    -------
    dict
        ``train_samples_per_s`` (optimizer samples per second, validation time included as in an epoch),
        ``predict_samples_per_s`` and ``pipeline``.
    """
    import dataclasses
    import time

    from .model import build_cnn
    from .recipe import steps_per_epoch
    from .runtime import backend_name, seed_everything

    seed_everything(seed)
    rng = np.random.default_rng(seed)
    x = rng.random((n_train + n_val, *image_shape), dtype=np.float32)
    y = rng.random(n_train + n_val, dtype=np.float32)
    st = dataclasses.replace(settings, epochs=1, min_epochs=0, input_mode="memory")
    steps = steps_per_epoch(n_train, st)
    pipeline = choose_pipeline(backend_name(), "memory")
    feed = make_feed(pipeline, None, [0], lambda idx, _positions: x[idx], preprocessed=x)
    train_idx, val_idx = np.arange(n_train), np.arange(n_train, n_train + n_val)
    model = build_cnn(image_shape, width=st.width, learning_rate=1e-4, precision=st.precision,
                      jit_compile=st.jit_compile, seed=seed, steps_per_execution=steps,
                      min_dense_units=st.min_dense_units)
    resident = None
    for st_run in (st, dataclasses.replace(st, epochs=epochs)):       # one epoch to compile, then timed ones
        t0 = time.perf_counter()
        _, resident = fit_network(model, feed, train_idx, y[:n_train], st_run, seed, steps, x[val_idx],
                                  y[val_idx], [], resident=resident)
        train_s = time.perf_counter() - t0
    predict(model, resident, x[val_idx])                      # compiled / warm
    t0 = time.perf_counter()
    predict(model, resident, x)
    predict_s = time.perf_counter() - t0
    return {"train_samples_per_s": epochs * steps * st.batch_size / train_s,
            "predict_samples_per_s": len(x) / predict_s, "pipeline": pipeline}
