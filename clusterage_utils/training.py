"""Train one experiment: select, split, preprocess, fit with early stopping, predict, score.

Data path: the cutouts an experiment needs are read from the cutout file once per process (kept in a small cache,
so a sweep of many experiments reads the file once), preprocessed in numpy with the functions of
:mod:`~clusterage_utils.preprocessing`, and fed to Keras through ``tf.data`` with on-the-fly rotations.
"""
from __future__ import annotations

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
    tr, va, te = make_split(exp.split, len(idx), seed=exp.split_seed, catalogue=cat.iloc[idx].reset_index(drop=True))
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


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, rotations: str, seed: int, epoch: int,
            flips: bool = False):
    """One epoch of shuffled, rotated training batches (channels-last).

    ``rotations="all"``: each cutout appears in its 4 rotations (the study's x4); ``"random"``: once, with a
    random rotation. ``flips`` adds a random left-right flip per item (the study found no gain; off by default).
    Deterministic for a given (seed, epoch).
    """
    rng = np.random.default_rng([seed, epoch])
    n = len(x)
    if rotations == "all":
        items = np.stack(np.meshgrid(np.arange(n), np.arange(4), indexing="ij"), -1).reshape(-1, 2)
    elif rotations == "random":
        items = np.column_stack([np.arange(n), rng.integers(0, 4, n)])
    elif rotations == "none":
        items = np.column_stack([np.arange(n), np.zeros(n, int)])
    else:
        raise ValueError(f"rotations must be 'all', 'random' or 'none', got {rotations!r}")
    items = items[rng.permutation(len(items))]
    for s in range(0, len(items), batch_size):
        b = items[s:s + batch_size]
        xb = rotate(x[b[:, 0]], b[:, 1])
        if flips:
            f = rng.random(len(b)) < 0.5
            xb[f] = xb[f, :, ::-1]
        yield xb, y[b[:, 0]].astype(np.float32)


def train_experiment(exp: Experiment, data: CutoutFile, verbose: int = 0) -> dict:
    """Train and evaluate one experiment; return its record (see :class:`~clusterage_utils.store.ResultsStore`).

    The record holds the experiment, the data fingerprint, versions, scores on train / val / test (scatter,
    null, predictive power, extreme / non-extreme subsets, bootstrap CI), scores against the mock's true ages when
    available, loss curves, per-cluster predictions and the wall time.
    """
    t0 = time.perf_counter()
    tf = _configure_tf(exp.seed)
    import keras

    from .model import build_cnn

    st = exp.training
    sets = experiment_indices(exp, data)
    label = sets["label"]
    raw = raw_cutouts(data)
    size = data.shape[-1]
    visible = visible_pixels(exp.mask, exp.diameter_px, size, exp.mask_convention)
    dmm = None
    if exp.normalisation == "dataset":
        x_tr_raw = raw[sets["train"]]
        if exp.input == "white_light":
            x_tr_raw = x_tr_raw.mean(axis=1, keepdims=True)
        dmm = dataset_range(x_tr_raw, visible)
    x = {k: preprocess(raw[sets[k]], exp.input, visible, exp.normalisation, dmm) for k in ("train", "val", "test")}
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

    h, w, c = x["train"].shape[1:]
    y_train = scale(y_fit["train"])
    n_items = len(x["train"]) * (4 if st.rotations == "all" else 1)
    steps = math.ceil(n_items / st.batch_size)

    def gen():  # endless: epoch e's batches are fixed by (seed, e)
        e = 0
        while True:
            yield from batches(x["train"], y_train, st.batch_size, st.rotations, exp.seed, e, st.flips)
            e += 1

    ds = tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((None, h, w, c), tf.float32), tf.TensorSpec((None,), tf.float32))).prefetch(2)
    model = build_cnn((h, w, c), width=st.width, layer_order=exp.layer_order, learning_rate=st.learning_rate)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=st.patience, restore_best_weights=True)
    hist = model.fit(ds, epochs=st.epochs, steps_per_epoch=steps, validation_data=(x["val"], scale(y_fit["val"])),
                     callbacks=[stop], shuffle=False, verbose=verbose)  # batches are already shuffled
    pred = {k: model.predict(x[k], batch_size=256, verbose=0).ravel().astype(np.float64) * span + lo
            for k in ("train", "val", "test")}

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
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else len(history.get("loss", []))
    import keras as _k
    record.update({
        "test_scatter_dex": record["test_scatter_dex"], "null_scatter_dex": record["test_null_scatter_dex"],
        "predictive_power_pct": record["test_predictive_power_pct"],
        "n_train": len(sets["train"]), "n_val": len(sets["val"]), "n_test": len(sets["test"]),
        "history": history, "epochs_run": len(history.get("loss", [])), "best_epoch": best,
        "n_params": int(model.count_params()),
        "predictions": pd.concat(rows, ignore_index=True).to_dict(orient="list"),
        "versions": {"clusterage": __version__, "tensorflow": tf.__version__, "keras": _k.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "device": "GPU" if tf.config.list_physical_devices("GPU") else f"CPU x{os.cpu_count()}",
        "wall_time_s": round(time.perf_counter() - t0, 2),
    })
    keras.backend.clear_session()
    return record
