"""Train one experiment: select, split, preprocess, fit with the profile's recipe, predict, score.

Data path: the cutouts an experiment needs are read from the cutout file once per process (cached, so a sweep of
many experiments reads the file once), preprocessed with :mod:`~.preprocessing`, and fed to the
network by the pipeline of this process's Keras backend (:mod:`~.fitting`): ``tf.data`` on
TensorFlow, the cutouts resident on the device with an epoch as one compiled loop on JAX, a numpy generator
elsewhere or when the file is streamed (identical batches in every case).
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import platform
import time

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..constants import __version__
from ..metrics import scatter_dex, score_set
from ..survey.cutouts import CutoutFile
from ..sweeps import MaskKind
from .experiments import Experiment
from .fitting import Feed, choose_pipeline, fit_network, make_feed, predict
from .inputs import AmortisedInputs, InputSource
from .preprocessing import dataset_range, kfold_split, make_split, select_sample, visible_pixels
from .runtime import backend_name, backend_versions, runtime_info, seed_everything

__all__ = ["experiment_indices", "experiment_inputs", "visible_for", "mask_grid", "mask_table", "train_experiment",
           "train_amortised", "save_model", "resolve_input_mode"]

_log = logging.getLogger(__name__)

#: Share of the available memory that in-memory input may take (raw cutouts, preprocessed array and its tensor).
MEMORY_SHARE = 0.5


def experiment_indices(exp: Experiment, data: CutoutFile, fold: int | None = None) -> dict[str, np.ndarray]:
    """File indices of the train / val / test clusters of an experiment, and the labels used.

    With K-fold evaluation (``exp.training.folds`` > 1), ``fold`` picks one fold's split (its test set is that
    fold, :func:`~.preprocessing.kfold_split`); without it, the sets of the record: the first
    fold's training and validation sets and every fold's test set (each cluster of the sample once, fold by fold).

    Raises
    ------
    ValueError
        For ``labels="true"`` on a file without the mock's truth, a sample of fewer than 10 clusters, or K-fold
        evaluation with a split other than ``random``.
    """
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
    folds = exp.training.folds
    if folds > 1 and exp.split != "random":
        raise ValueError(f"{exp.name}: K-fold evaluation (folds={folds}) needs split='random', got {exp.split!r}")
    if folds > 1 and fold is None:
        parts = [kfold_split(len(idx), folds, k, seed=exp.split_seed) for k in range(folds)]
        tr, va, te = parts[0][0], parts[0][1], np.concatenate([p[2] for p in parts])
    elif folds > 1:
        tr, va, te = kfold_split(len(idx), folds, fold, seed=exp.split_seed)
    else:
        tr, va, te = make_split(exp.split, len(idx), seed=exp.split_seed,
                                catalogue=cat.iloc[idx].reset_index(drop=True), size_px=data.shape[-1])
    return {"train": idx[tr], "val": idx[va], "test": idx[te], "label": label}


def _available_memory_bytes() -> int:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024**3


def resolve_input_mode(mode: str, data: CutoutFile, n_processes: int = 1) -> str:
    """``auto`` -> ``memory`` when three copies of the file's cutouts (raw, preprocessed, tensor) per process fit
    in :data:`MEMORY_SHARE` of the available memory, else ``stream``; other values are returned as they are.

    Raises
    ------
    ValueError
        For an unknown mode.
    """
    if mode not in ("auto", "memory", "stream"):
        raise ValueError(f"input_mode must be 'auto', 'memory' or 'stream', got {mode!r}")
    if mode != "auto":
        return mode
    need = 3 * data.n * int(np.prod(data.shape)) * 4 * max(1, n_processes)
    return "memory" if need <= MEMORY_SHARE * _available_memory_bytes() else "stream"


def mask_grid(exp: Experiment, size: int) -> list[float]:
    """Diameters that the experiment's model is trained with: its own, in its unit (retraining), or the pixel
    grid (amortised masking: :attr:`~.experiments.Experiment.grid`) without a zero-diameter
    keep-centre mask and without diameters wider than the cutout."""
    if exp.masking == "amortised":
        return sorted(d for d in exp.grid if d <= size and (exp.mask != MaskKind.KEEP_CENTRE or d > 0))
    return [exp.diameter]


def _training_view(exp: Experiment) -> Experiment:
    """The experiment that trains a model: an amortised model of a sweep in parsec is the sweep's model in pixels
    (its grid is in pixels; only the evaluation masks are in parsec)."""
    if exp.masking == "amortised" and exp.diameter_unit != "px":
        return dataclasses.replace(exp, diameter_unit="px")
    return exp


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


def mask_table(exp: Experiment, data: CutoutFile, grid) -> tuple[np.ndarray, np.ndarray]:
    """Every mask an amortised model can draw: the distinct visible-pixel masks (M, H, W) and, for each cutout of
    the file and each diameter of the (pixel) grid, the index of its mask (N, G)."""
    size = data.shape[-1]
    d = np.broadcast_to(np.asarray(grid, float)[None, :], (data.n, len(grid)))
    uniq, inv = np.unique(d, return_inverse=True)
    masks = np.stack([_circle_mask(exp.mask, float(u), size, exp.mask_convention) for u in uniq])
    return masks, inv.reshape(d.shape).astype(np.int32)


def experiment_inputs(exp: Experiment, data: CutoutFile, file_idx) -> np.ndarray:
    """The network's input for clusters ``file_idx``: preprocessed (masked, normalised) channels-last cutouts,
    exactly as the experiment's model saw them at evaluation (no rotation)."""
    if exp.normalisation == "dataset":
        raise ValueError("experiment_inputs: 'dataset' normalisation depends on the training set; use 'instance'")
    idx = np.asarray(file_idx)
    src = InputSource(data, exp.input, exp.normalisation, "stream")
    return src.batch(idx, visible_for(exp, data, idx, exp.diameter))


def _labels(exp: Experiment, sets: dict) -> tuple[dict, dict]:
    """Labels per set, and those the network is fitted to (permuted for the shuffled-label control)."""
    label = sets["label"]
    y = {k: label[sets[k]].astype(np.float64) for k in ("train", "val", "test")}
    y_fit = dict(y)
    if exp.labels == "shuffled":  # a control: the net sees labels unrelated to its images
        rng = np.random.default_rng([exp.seed, 7])
        y_fit["train"] = rng.permutation(y["train"])
        y_fit["val"] = rng.permutation(y["val"])
    return y, y_fit


def _feed(exp: Experiment, data: CutoutFile, sets: dict, grid: list, mode: str) -> Feed:
    """A split's inputs on this backend's pipeline (:func:`~.fitting.choose_pipeline`).

    In memory, one mask per cutout for the whole training (retraining): the file preprocessed once; a mask drawn
    per example (amortised, instance normalisation): raw cutouts with their masks and their normalisation ranges
    over the sample (``sets``: train, validation and test). Streamed input or other normalisations: batches
    preprocessed in numpy. The feed depends on the sample, not on how it is split (K folds share one).
    """
    dmm = None
    if exp.normalisation == "dataset":
        probe = InputSource(data, exp.input, "instance", mode)
        dmm = dataset_range(probe.raw(sets["train"]), visible_for(exp, data, sets["train"], grid[0]))
    src = InputSource(data, exp.input, exp.normalisation, mode, dmm)
    grid_arr = np.asarray(grid, float)

    def fetch(file_idx, grid_positions):
        d = grid[0] if len(grid) == 1 else grid_arr[grid_positions]
        return src.batch(file_idx, visible_for(exp, data, file_idx, d))

    pipeline = choose_pipeline(backend_name(), mode)
    if mode == "memory" and len(grid) == 1:
        pre = src.preprocessed(visible_for(exp, data, np.arange(data.n), grid[0]))
        return make_feed(pipeline, src, grid, fetch, preprocessed=pre)
    if mode == "memory" and exp.normalisation == "instance":
        masks, index = mask_table(exp, data, grid)
        used = np.concatenate([sets["train"], sets["val"], sets["test"]])
        amortised = AmortisedInputs.build(src.channels_last(), masks, index, rows=used)
        return make_feed(pipeline, src, grid, fetch, amortised=amortised)
    return make_feed("generator" if pipeline == "resident" else pipeline, src, grid, fetch)


def _validation_inputs(exp: Experiment, feed: Feed, val_idx: np.ndarray) -> np.ndarray:
    """The fixed validation inputs: the training mask, or for an amortised model one grid diameter per item drawn
    from the experiment's seed."""
    if feed.preprocessed is not None:
        return feed.preprocessed[val_idx]
    positions = np.random.default_rng([exp.seed, 11]).integers(0, len(feed.grid), len(val_idx))
    if feed.amortised is not None:
        return feed.evaluation_inputs(val_idx, positions)
    return feed.fetch(val_idx, positions)


@dataclasses.dataclass
class _SplitInputs:
    """What every network of one split is trained on: its sets, scaled labels, feed and validation inputs."""

    sets: dict
    grid: list
    y_train: np.ndarray
    y_val: np.ndarray
    x_val: np.ndarray
    feed: Feed
    mode: str
    steps: int
    verbose: int = 0


@dataclasses.dataclass
class _Network:
    """One trained network (the attempt kept after restarts) and how it trained."""

    model: object
    resident: object
    history: dict
    stop: object
    restarts: int
    spread: float
    val_loss: float

    def outputs(self, x=None, file_idx=None, grid_position: int = 0) -> np.ndarray:
        """Outputs for host inputs ``x`` (batches of 128, as Keras' predict), or on the device for cutouts."""
        if self.resident is not None:
            return predict(self.model, self.resident, x, file_idx, grid_position)
        return np.asarray(self.model.predict(x, batch_size=128, verbose=0), np.float64).ravel()


def _train_network(exp: Experiment, data: CutoutFile, split: _SplitInputs, seed: int) -> _Network:
    """Train one network from ``seed`` (its initial weights and training stream; the validation set stays the
    experiment's); a collapsed network starts again (recipe docstring). Returns the attempt kept."""
    from .model import build_cnn
    from .recipe import callbacks, init_seed, learning_rate, prediction_spread

    st, size = exp.training, data.shape[-1]
    c = 1 if exp.input == "white_light" else data.shape[0]
    kept = None
    for restarts in range(st.collapse_restarts + 1):
        start = init_seed(seed, restarts)
        if seed != exp.seed or restarts:         # new initial weights and a new order of the stream
            seed_everything(start)
        model = build_cnn((size, size, c), width=st.width, layer_order=exp.layer_order,
                          learning_rate=learning_rate(st, split.steps), precision=st.precision,
                          jit_compile=st.jit_compile, seed=start, steps_per_execution=split.steps,
                          clipnorm=st.clipnorm, min_dense_units=st.min_dense_units)
        cbs = callbacks(st, exp.masking == "amortised")
        history, resident = fit_network(model, split.feed, split.sets["train"], split.y_train, st, start,
                                        split.steps, split.x_val, split.y_val, cbs, split.verbose)
        net = _Network(model, resident, history, cbs[0], restarts, 0.0, float(np.min(history["val_loss"])))
        net.spread = prediction_spread(net.outputs(split.x_val), split.y_val)
        _log.info("%s seed %d attempt %d: validation spread %.3f, best validation loss %.4f", exp.name, seed,
                  restarts, net.spread, net.val_loss)
        kept = net if kept is None or net.val_loss < kept.val_loss else kept  # all collapsed: the best
        if net.spread >= st.collapse_spread:
            return net
    return kept


@dataclasses.dataclass
class _SplitFit:
    """The networks of one split (the experiment's, or one fold of it) and what evaluating them needs."""

    networks: list
    sets: dict
    y: dict
    lo: float
    span: float
    feed: Feed
    grid: list
    input_mode: str

    @property
    def restarts(self) -> int:
        return sum(n.restarts for n in self.networks)

    @property
    def val_prediction_spread(self) -> float:
        return min(n.spread for n in self.networks)


def _fit_split(exp: Experiment, data: CutoutFile, sets: dict, first_member: int = 0, feed: Feed | None = None,
               verbose: int = 0) -> _SplitFit:
    """Train the network(s) of one split (the experiment's, or one fold of it), from the member seeds
    ``first_member``, ``first_member + 1``, ... (:func:`~.recipe.member_seed`); ``feed``: the
    sample's inputs, when another fold made them already."""
    from .recipe import member_seed, steps_per_epoch

    st = exp.training
    grid = mask_grid(exp, data.shape[-1])
    for d in grid:  # fail here, with a clear message, rather than inside an input pipeline
        visible_for(exp, data, sets["train"][:1], d)
    y, y_fit = _labels(exp, sets)
    lo, hi = float(y_fit["train"].min()), float(y_fit["train"].max())
    span = hi - lo if hi > lo else 1.0
    mode = resolve_input_mode(st.input_mode, data)
    feed = feed or _feed(exp, data, sets, grid, mode)
    split = _SplitInputs(sets, grid, ((y_fit["train"] - lo) / span).astype(np.float32),
                         ((y_fit["val"] - lo) / span).astype(np.float32),
                         _validation_inputs(exp, feed, sets["val"]), feed, mode,
                         steps_per_epoch(len(sets["train"]), st, amortised=exp.masking == "amortised"), verbose)
    nets = [_train_network(exp, data, split, member_seed(exp.seed, first_member + m))
            for m in range(max(1, st.networks_per_seed))]
    return _SplitFit(nets, sets, y, lo, span, feed, grid, mode)


@dataclasses.dataclass
class _Fit:
    """An experiment's trained networks: one split, or one per fold whose test sets are pooled."""

    splits: list

    @property
    def first(self) -> _SplitFit:
        return self.splits[0]

    def test_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """File indices and labels of the test set (every fold's, in fold order)."""
        return (np.concatenate([s.sets["test"] for s in self.splits]),
                np.concatenate([s.y["test"] for s in self.splits]))


def _fit(exp: Experiment, data: CutoutFile, verbose: int = 0) -> _Fit:
    """Train the network(s) of an experiment (or of an amortised group).

    With ``networks_per_seed`` > 1 a split holds every network (predictions are their mean); the history, best
    epoch and stopping of the record are the first network's, restarts the sum over networks. With ``folds`` > 1
    one such set of networks per fold, each fold's from new member seeds (initial weights and training stream: a
    seed's pooled score averages over the folds' networks instead of repeating one start): the test set pools
    the folds' test sets, the rest of the record is the first fold's (restarts summed, the smallest validation
    spread)."""
    exp = _training_view(exp)
    seed_everything(exp.seed)
    folds = exp.training.folds
    if folds <= 1:
        return _Fit([_fit_split(exp, data, experiment_indices(exp, data), verbose=verbose)])
    per_fold = max(1, exp.training.networks_per_seed)
    splits = []
    for k in range(folds):
        shared = splits[0].feed if splits and exp.normalisation != "dataset" else None
        splits.append(_fit_split(exp, data, experiment_indices(exp, data, k), k * per_fold, shared, verbose))
    return _Fit(splits)


def _predict(split: _SplitFit, exp: Experiment, data: CutoutFile, file_idx: np.ndarray,
             batch_size: int = 128) -> np.ndarray:
    """Predictions (log age) for ``file_idx`` with ``exp``'s own mask: from the in-memory inputs when the mask is
    the one trained with (retraining) or on the amortised grid, else preprocessed in numpy."""
    feed = split.feed
    own = feed.preprocessed is not None and exp.masking == "retrain"
    position = 0 if own else feed.grid_position(exp.diameter, exp.diameter_unit)
    out = []
    for net in split.networks:
        if net.resident is not None and position is not None:
            out.append(net.outputs(file_idx=file_idx, grid_position=position))
            continue
        parts = []
        for s in range(0, len(file_idx), batch_size):
            b = file_idx[s:s + batch_size]
            if own:
                x = feed.preprocessed[b]
            elif position is not None:       # an amortised model at one of its grid diameters
                x = feed.evaluation_inputs(b, position)
            else:
                x = feed.source.batch(b, visible_for(exp, data, b, exp.diameter))
            parts.append(predict(net.model, net.resident, x))
        out.append(np.concatenate(parts) if parts else np.zeros(0))
    return np.mean(out, axis=0) * split.span + split.lo


def _record(exp: Experiment, data: CutoutFile, fit: _Fit, wall_time_s: float) -> dict:
    """Evaluate the trained model at the experiment's own mask and assemble its record."""
    first = fit.first
    sets, y = dict(first.sets), dict(first.y)
    sets["test"], y["test"] = fit.test_sets()
    pred = {k: _predict(first, exp, data, sets[k]) for k in ("train", "val")}
    pred["test"] = np.concatenate([_predict(s, exp, data, s.sets["test"]) for s in fit.splits])
    pooled = len(fit.splits) > 1
    null_test = np.concatenate([np.full(len(s.sets["test"]), np.mean(s.y["train"])) for s in fit.splits])
    record: dict = {"experiment": exp.to_dict(), "hash": exp.hash, "case": exp.case, "name": exp.name,
                    "data": {"path": str(data.path), "fingerprint": data.fingerprint(), "source": data.source}}
    truth = data.catalogue["true_log_age"].to_numpy(float) if "true_log_age" in data.catalogue else None
    rows = []
    for k in ("train", "val", "test"):
        sc = score_set(pred[k], y[k], y["train"], null_prediction=null_test if k == "test" and pooled else None)
        record.update({f"{k}_{m}": v for m, v in sc.items()})
        part = pd.DataFrame({"index": sets[k], "cluster_id": data.cluster_ids[sets[k]],
                             "galaxy_id": data.galaxy_ids[sets[k]], "set": k, "label": y[k], "pred": pred[k]})
        if truth is not None:
            record[f"{k}_scatter_vs_true_dex"] = scatter_dex(pred[k], truth[sets[k]])
            part["true_log_age"] = truth[sets[k]]
        rows.append(part)
    record.update(_training_fields(fit))
    record.update({"null_scatter_dex": record["test_null_scatter_dex"],
                   "predictive_power_pct": record["test_predictive_power_pct"],
                   "n_train": len(sets["train"]), "n_val": len(sets["val"]), "n_test": len(sets["test"]),
                   "masking": exp.masking,
                   "predictions": pd.concat(rows, ignore_index=True).to_dict(orient="list"),
                   "versions": {"clusterage": __version__, **backend_versions(), "numpy": np.__version__,
                                "python": platform.python_version()},
                   "runtime": {**runtime_info(), "input_mode": first.input_mode, "pipeline": first.feed.pipeline},
                   "wall_time_s": round(wall_time_s, 2)})
    record["device"] = record["runtime"]["device"]
    return record


def _training_fields(fit: _Fit) -> dict:
    """A record's account of the training: the first network's history and stopping, restarts, sizes."""
    first = fit.first
    net = first.networks[0]
    history = {k: [float(v) for v in vals] for k, vals in net.history.items()}
    stop = net.stop
    best = int(stop.best_epoch) + 1 if stop.best_weights is not None else len(history.get("loss", []))
    return {"history": history, "epochs_run": len(history.get("loss", [])), "best_epoch": best,
            "stopped_early": bool(stop.stopped_epoch > 0),
            "restarts": sum(s.restarts for s in fit.splits),
            "val_prediction_spread": round(min(s.val_prediction_spread for s in fit.splits), 4),
            "n_params": int(net.model.count_params()), "networks": len(first.networks),
            "folds": len(fit.splits), "trained_on_diameters": first.grid,
            "label_lo": first.lo, "label_span": first.span}


def save_model(model, path: str | os.PathLike) -> None:
    """Save a Keras model to ``path`` (``.keras``) atomically: a temporary file in the same folder, then rename."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def train_experiment(exp: Experiment, data: CutoutFile, verbose: int = 0, model_path=None) -> dict:
    """Train and evaluate one experiment; return its record (see :class:`~.store.ResultsStore`).

    The record holds the experiment, the data fingerprint, versions and runtime (threads, oneDNN, device), scores
    on train / val / test (scatter, null, predictive power, extreme / non-extreme subsets, bootstrap CI), scores
    against the mock's true ages when available, loss curves with the best and last epoch, per-cluster
    predictions, the label scaling (``label_lo``, ``label_span``: prediction in log yr = output x span + lo) and
    the wall time. ``model_path``: also save the trained model there (``.keras``), e.g. for attribution maps.

    Raises
    ------
    ValueError
        With ``model_path`` for an ensemble (``networks_per_seed`` > 1): one file holds one network.
    """
    import keras

    if model_path is not None and exp.training.networks_per_seed > 1:
        raise ValueError(f"{exp.name}: cannot save an ensemble of {exp.training.networks_per_seed} networks as one "
                         f"model (model_path={model_path}); train it with networks_per_seed=1")
    t0 = time.perf_counter()
    fit = _fit(exp, data, verbose)
    rec = _record(exp, data, fit, time.perf_counter() - t0)
    if model_path is not None:
        save_model(fit.first.networks[0].model, model_path)
    keras.backend.clear_session()
    return rec


def train_amortised(experiments: list[Experiment], data: CutoutFile, verbose: int = 0) -> list[dict]:
    """Amortised masking: train one model with a mask diameter drawn per example from the profile's pixel sweep
    grid, then evaluate it at each experiment's diameter (in px, or in pc converted per cluster). All experiments
    must share :attr:`Experiment.training_group`.

    Each record's ``wall_time_s`` is the shared training time divided among the diameters evaluated, plus its
    own evaluation.
    """
    import keras

    groups = {e.training_group for e in experiments}
    if len(groups) != 1 or any(e.masking != "amortised" for e in experiments):
        raise ValueError("train_amortised needs amortised experiments of one training group")
    t0 = time.perf_counter()
    fit = _fit(experiments[0], data, verbose)
    share = (time.perf_counter() - t0) / len(experiments)
    out = []
    for e in experiments:
        t1 = time.perf_counter()
        out.append(_record(e, data, fit, share + time.perf_counter() - t1))
    keras.backend.clear_session()
    return out
