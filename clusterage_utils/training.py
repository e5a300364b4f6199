"""Train one experiment: select, split, preprocess, fit with early stopping, predict, score.

Data path: the cutouts an experiment needs are read from the cutout file once per process (kept in a small cache,
so a sweep of many experiments reads the file once), preprocessed in numpy with the functions of
:mod:`~clusterage_utils.preprocessing`, and fed to Keras through ``tf.data`` with on-the-fly rotations.
"""
from __future__ import annotations

import functools
import math
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's C++ log: a harmless NodeDef line per fit

import numpy as np
import pandas as pd

from . import __version__
from .cutouts import CutoutFile
from .experiments import Experiment
from .metrics import score_set
from .preprocessing import dataset_range, make_split, preprocess, rotate, select_sample, visible_pixels

_RAW_CACHE: dict[tuple, np.ndarray] = {}
#: One preprocessed array at a time, process-wide: tf.data keeps old generators (and whatever they reference)
#: alive, so a per-training copy would accumulate until memory runs out.
_PRE_CACHE: dict[tuple, np.ndarray] = {}


def raw_cutouts(data: CutoutFile) -> np.ndarray:
    """All cutouts of a file (N, 5, H, W), read once per process and cached (keyed by path and fingerprint)."""
    key = (str(data.path), data.fingerprint())
    if key not in _RAW_CACHE:
        _RAW_CACHE.clear()
        _RAW_CACHE[key] = data.images(np.arange(data.n))
    return _RAW_CACHE[key]


def experiment_indices(exp: Experiment, data: CutoutFile) -> dict[str, np.ndarray]:
    """File indices of the train / val / test clusters of an experiment, and the labels used."""
    cat = data.catalogue
    if exp.labels == "true":
        if "true_log_age" not in cat:
            raise ValueError(f"{data.path}: labels='true' needs the mock survey's truth columns; this file's source "
                             f"is {data.source!r}. Use labels='reference'.")
        label = cat["true_log_age"].to_numpy(float)
    else:
        label = data.log_ages
    idx = select_sample(label, exp.sample)
    if exp.group is not None:
        idx = idx[(cat["distance_group"].to_numpy()[idx] == exp.group)]
    if len(idx) < 10:
        raise ValueError(f"{exp.name}: only {len(idx)} clusters in sample {exp.sample!r}"
                         f"{' group ' + exp.group if exp.group else ''}; need at least 10")
    tr, va, te = make_split(exp.split, len(idx), seed=exp.split_seed, catalogue=cat.iloc[idx].reset_index(drop=True),
                            size_px=data.shape[-1])
    return {"train": idx[tr], "val": idx[va], "test": idx[te], "label": label}


def _configure_tf(seed: int):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass
    return tf


class InputSource:
    """Raw cutouts of an experiment, served in preprocessed batches.

    ``mode="memory"`` reads the whole file once per process (cached across experiments) and, for a single mask,
    preprocesses every cutout once (normalisation is per instance, so this gives the same values as batch-wise
    preprocessing); ``mode="stream"`` reads and preprocesses each batch from the HDF5 file, so memory stays flat
    in N. Per-item masks (amortised masking) are always preprocessed batch by batch.
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

    def _preprocessed(self, visible: np.ndarray) -> np.ndarray:
        key = (str(self.data.path), self.input_kind, self.normalisation, self.dataset_minmax,
               np.packbits(visible).tobytes())
        if key not in _PRE_CACHE:
            _PRE_CACHE.clear()
            c = 1 if self.input_kind == "white_light" else self.data.shape[0]
            h, w = self.data.shape[1:]
            out = np.empty((self.data.n, h, w, c), np.float32)
            for s in range(0, self.data.n, 256):
                idx = np.arange(s, min(s + 256, self.data.n))
                out[idx] = preprocess(self.raw(idx), self.input_kind, visible, self.normalisation,
                                      self.dataset_minmax)
            _PRE_CACHE[key] = out
        return _PRE_CACHE[key]

    def batch(self, file_idx: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """Preprocessed channels-last batch; ``visible`` is (H, W) or per item (k, H, W)."""
        if self._raw is not None and visible.ndim == 2:
            return self._preprocessed(visible)[file_idx]
        return preprocess(self.raw(file_idx), self.input_kind, visible, self.normalisation, self.dataset_minmax)


def batches(fetch, y: np.ndarray, batch_size: int, rotations: str, seed: int, epoch: int, flips: bool = False,
            n_masks: int = 1):
    """One epoch of shuffled, rotated training batches (channels-last).

    Parameters
    ----------
    fetch : callable or ndarray
        ``fetch(positions, mask_ids)`` returns the preprocessed batch (or an array indexed by position).
    y : ndarray
        Targets per position.
    rotations : {"all", "random", "none"}
        ``all``: each cutout appears in its 4 rotations (the study's x4); ``random``: once, with a random rotation.
    flips : bool
        A random left-right flip per item (the study found no gain; off by default).
    n_masks : int
        Amortised masking: each item gets a mask id drawn uniformly from ``range(n_masks)``.

    Deterministic for a given (seed, epoch).
    """
    if not callable(fetch):
        arr = fetch
        fetch = lambda pos, _m: arr[pos]  # noqa: E731
    rng = np.random.default_rng([seed, epoch])
    n = len(y)
    if rotations == "all":
        items = np.stack(np.meshgrid(np.arange(n), np.arange(4), indexing="ij"), -1).reshape(-1, 2)
    elif rotations == "random":
        items = np.column_stack([np.arange(n), rng.integers(0, 4, n)])
    elif rotations == "none":
        items = np.column_stack([np.arange(n), np.zeros(n, int)])
    else:
        raise ValueError(f"rotations must be 'all', 'random' or 'none', got {rotations!r}")
    items = items[rng.permutation(len(items))]
    masks = rng.integers(0, n_masks, len(items))
    for s in range(0, len(items), batch_size):
        b = items[s:s + batch_size]
        xb = rotate(fetch(b[:, 0], masks[s:s + batch_size]), b[:, 1])
        if flips:
            f = rng.random(len(b)) < 0.5
            xb[f] = xb[f, :, ::-1]
        yield xb, y[b[:, 0]].astype(np.float32)


def _mask_grid(exp: Experiment, size: int) -> list[float]:
    """Diameters (in the experiment's unit) a model is trained with: the experiment's own (retraining), or the
    profile's whole sweep grid for its mask kind (amortised masking)."""
    if exp.masking == "amortised":
        return sorted(d for d in exp.training.diameters_px
                      if (d <= size or exp.diameter_unit == "pc") and (exp.mask != "keep_centre" or d > 0))
    return [exp.diameter_px]


@functools.lru_cache(maxsize=512)
def _circle_mask(kind: str, d_px: float, size: int, convention: str) -> np.ndarray:
    return visible_pixels(kind, d_px, size, convention)


def visible_for(exp: Experiment, data: CutoutFile, file_idx: np.ndarray, diameter) -> np.ndarray:
    """Visible-pixel masks of ``exp`` for the clusters ``file_idx`` at ``diameter`` (scalar, or one per item).

    Returns one (H, W) mask when it is the same for every item (pixel diameters, one value), else (k, H, W).
    Diameters in parsec are converted per cluster with its ``pc_per_px`` and capped at the cutout width.
    """
    size = data.shape[-1]
    d = np.broadcast_to(np.asarray(diameter, float), (len(file_idx),))
    if exp.diameter_unit == "pc":
        d = np.minimum(np.round(d / data.catalogue["pc_per_px"].to_numpy(float)[file_idx], 2), size)
    elif np.isscalar(diameter) or np.ndim(diameter) == 0:
        return _circle_mask(exp.mask, float(diameter), size, exp.mask_convention)
    uniq, inv = np.unique(d, return_inverse=True)
    stack = np.stack([_circle_mask(exp.mask, float(u), size, exp.mask_convention) for u in uniq])
    return stack[inv]


def experiment_inputs(exp: Experiment, data: CutoutFile, file_idx) -> np.ndarray:
    """The network's input for clusters ``file_idx``: preprocessed (masked, normalised) channels-last cutouts,
    exactly as the experiment's model saw them at evaluation (no rotation)."""
    if exp.normalisation == "dataset":
        raise ValueError("experiment_inputs: 'dataset' normalisation depends on the training set; use 'instance'")
    idx = np.asarray(file_idx)
    src = InputSource(data, exp.input, exp.normalisation, "stream")
    return src.batch(idx, visible_for(exp, data, idx, exp.diameter_px))


def _fit(exp: Experiment, data: CutoutFile, verbose: int = 0):
    """Train the model of an experiment (or of an amortised group); returns a context for evaluation."""
    tf = _configure_tf(exp.seed)
    import keras

    from .model import build_cnn

    st = exp.training
    sets = experiment_indices(exp, data)
    label = sets["label"]
    size = data.shape[-1]
    grid = _mask_grid(exp, size)
    for d in grid:  # fail here, with a clear message, rather than inside the tf.data thread
        visible_for(exp, data, sets["train"][:1], d)
    dmm = None
    if exp.normalisation == "dataset":
        probe = InputSource(data, exp.input, "instance", st.input_mode)
        dmm = dataset_range(probe.raw(sets["train"]), visible_for(exp, data, sets["train"], grid[0]))
    src = InputSource(data, exp.input, exp.normalisation, st.input_mode, dmm)
    y = {k: label[sets[k]].astype(np.float64) for k in ("train", "val", "test")}
    y_fit = dict(y)
    if exp.labels == "shuffled":  # a control: the net sees labels unrelated to its images
        rng = np.random.default_rng([exp.seed, 7])
        y_fit["train"] = rng.permutation(y["train"])
        y_fit["val"] = rng.permutation(y["val"])
    lo, hi = float(y_fit["train"].min()), float(y_fit["train"].max())
    span = hi - lo if hi > lo else 1.0

    def scale(v):
        return ((v - lo) / span).astype(np.float32)

    c = 1 if exp.input == "white_light" else data.shape[0]
    y_train, y_val = scale(y_fit["train"]), scale(y_fit["val"])
    steps = math.ceil(len(y_train) * (4 if st.rotations == "all" else 1) / st.batch_size)
    train_idx, val_idx = sets["train"], sets["val"]

    grid_arr = np.asarray(grid, float)

    def fetch_train(pos, mask_ids):  # retraining in px: one (H, W) mask for the whole batch
        d = grid[0] if len(grid) == 1 else grid_arr[mask_ids]
        return src.batch(train_idx[pos], visible_for(exp, data, train_idx[pos], d))

    def gen_train():  # endless: epoch e's batches are fixed by (seed, e)
        e = 0
        while True:
            yield from batches(fetch_train, y_train, st.batch_size, st.rotations, exp.seed, e, st.flips, len(grid))
            e += 1

    val_masks = np.random.default_rng([exp.seed, 11]).integers(0, len(grid), len(val_idx))
    eval_bs = 128

    def gen_val():  # fixed: validation items keep their mask from epoch to epoch
        for s in range(0, len(val_idx), eval_bs):
            d = grid[0] if len(grid) == 1 else grid_arr[val_masks[s:s + eval_bs]]
            yield src.batch(val_idx[s:s + eval_bs], visible_for(exp, data, val_idx[s:s + eval_bs], d)), \
                y_val[s:s + eval_bs]

    spec = (tf.TensorSpec((None, size, size, c), tf.float32), tf.TensorSpec((None,), tf.float32))
    ds = tf.data.Dataset.from_generator(gen_train, output_signature=spec).prefetch(2)
    # endless, exactly one pass per epoch: an iterator that Keras keeps across epochs never runs dry
    ds_val = tf.data.Dataset.from_generator(gen_val, output_signature=spec).repeat()
    model = build_cnn((size, size, c), width=st.width, layer_order=exp.layer_order, learning_rate=st.learning_rate,
                      precision=st.precision, jit_compile=st.jit_compile, seed=exp.seed)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=st.patience, restore_best_weights=True)
    hist = model.fit(ds, epochs=st.epochs, steps_per_epoch=steps, validation_data=ds_val,
                     validation_steps=math.ceil(len(val_idx) / eval_bs), callbacks=[stop], shuffle=False,
                     verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return {"tf": tf, "model": model, "sets": sets, "y": y, "lo": lo, "span": span, "src": src, "grid": grid,
            "history": history, "size": size}


def _predict(ctx: dict, exp: Experiment, data: CutoutFile, file_idx: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Predictions (log age) for ``file_idx`` with ``exp``'s own mask."""
    out = []
    for s in range(0, len(file_idx), batch_size):
        b = file_idx[s:s + batch_size]
        out.append(ctx["model"].predict_on_batch(ctx["src"].batch(b, visible_for(exp, data, b, exp.diameter_px))))
    pred = np.concatenate([np.asarray(o, np.float64).ravel() for o in out]) if out else np.zeros(0)
    return pred * ctx["span"] + ctx["lo"]


def _record(exp: Experiment, data: CutoutFile, ctx: dict, wall_time_s: float) -> dict:
    """Evaluate the trained model at the experiment's own mask and assemble its record."""
    import keras

    tf = ctx["tf"]
    sets, y = ctx["sets"], ctx["y"]
    pred = {k: _predict(ctx, exp, data, sets[k]) for k in ("train", "val", "test")}
    record: dict = {"experiment": exp.to_dict(), "hash": exp.hash, "case": exp.case, "name": exp.name,
                    "data": {"path": str(data.path), "fingerprint": data.fingerprint(), "source": data.source}}
    cat = data.catalogue
    rows = []
    for k in ("train", "val", "test"):
        sc = score_set(pred[k], y[k], y["train"])
        record.update({f"{k}_{m}": v for m, v in sc.items()})
        if "true_log_age" in cat:
            tr = cat["true_log_age"].to_numpy(float)[sets[k]]
            record[f"{k}_scatter_vs_true_dex"] = float(1.49 * np.median(np.abs(pred[k] - tr)))
        part = pd.DataFrame({"index": sets[k], "cluster_id": data.cluster_ids[sets[k]],
                             "galaxy_id": data.galaxy_ids[sets[k]], "set": k, "label": y[k], "pred": pred[k]})
        if "true_log_age" in cat:
            part["true_log_age"] = cat["true_log_age"].to_numpy(float)[sets[k]]
        rows.append(part)
    history = ctx["history"]
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else len(history.get("loss", []))
    record.update({
        "null_scatter_dex": record["test_null_scatter_dex"],
        "predictive_power_pct": record["test_predictive_power_pct"],
        "n_train": len(sets["train"]), "n_val": len(sets["val"]), "n_test": len(sets["test"]),
        "history": history, "epochs_run": len(history.get("loss", [])), "best_epoch": best,
        "n_params": int(ctx["model"].count_params()), "masking": exp.masking, "trained_on_diameters": ctx["grid"],
        "label_lo": ctx["lo"], "label_span": ctx["span"],
        "predictions": pd.concat(rows, ignore_index=True).to_dict(orient="list"),
        "versions": {"clusterage": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "device": "GPU" if tf.config.list_physical_devices("GPU") else f"CPU x{os.cpu_count()}",
        "wall_time_s": round(wall_time_s, 2),
    })
    return record


def save_model(model, path: str | os.PathLike) -> None:
    """Save a Keras model to ``path`` (``.keras``) atomically: a temporary file in the same folder, then rename."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def train_experiment(exp: Experiment, data: CutoutFile, verbose: int = 0, model_path=None) -> dict:
    """Train and evaluate one experiment; return its record (see :class:`~clusterage_utils.store.ResultsStore`).

    The record holds the experiment, the data fingerprint, versions, scores on train / val / test (scatter,
    null, predictive power, extreme / non-extreme subsets, bootstrap CI), scores against the mock's true ages when
    available, loss curves, per-cluster predictions, the label scaling (``label_lo``, ``label_span``: prediction
    in log yr = output x span + lo) and the wall time. ``model_path``: also save the trained model there
    (``.keras``), e.g. for attribution maps.
    """
    import keras

    t0 = time.perf_counter()
    ctx = _fit(exp, data, verbose)
    rec = _record(exp, data, ctx, time.perf_counter() - t0)
    if model_path is not None:
        save_model(ctx["model"], model_path)
    keras.backend.clear_session()
    return rec


def train_amortised(experiments: list[Experiment], data: CutoutFile, verbose: int = 0) -> list[dict]:
    """Amortised masking: train one model with a mask diameter drawn per example from the profile's sweep grid,
    then evaluate it at each experiment's diameter. All experiments must share :attr:`Experiment.training_group`.

    Each record's ``wall_time_s`` is the shared training time divided among the diameters evaluated, plus its
    own evaluation.
    """
    import keras

    groups = {e.training_group for e in experiments}
    if len(groups) != 1 or any(e.masking != "amortised" for e in experiments):
        raise ValueError("train_amortised needs amortised experiments of one training group")
    t0 = time.perf_counter()
    ctx = _fit(experiments[0], data, verbose)
    share = (time.perf_counter() - t0) / len(experiments)
    out = []
    for e in experiments:
        t1 = time.perf_counter()
        out.append(_record(e, data, ctx, share + time.perf_counter() - t1))
    keras.backend.clear_session()
    return out
