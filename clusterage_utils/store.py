"""The results store: one JSON record per trained model, written atomically, read back as pandas frames.

Layout: ``<root>/store.json`` (store version), ``<root>/records/<key>.json`` and, for models kept on request,
``<root>/models/<key>.keras``, where the key combines the
experiment's hash and the cutout file's fingerprint, so new data never reuses old results. A run killed half-way
leaves no record (temp file + rename) and is redone on the next call.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._atomic import atomic_path
from .constants import __version__
from .experiments import Experiment

__all__ = ["STORE_VERSION", "StoreError", "record_key", "ResultsStore"]

STORE_VERSION = 1


class StoreError(ValueError):
    """The store on disk is not one this version can use; the message says what to do."""


def record_key(exp_hash: str, data_fingerprint: str) -> str:
    return f"{exp_hash}-{data_fingerprint}"


class ResultsStore:
    """A directory of training records.

    Parameters
    ----------
    root : path-like
        Created if absent. An existing store written by an incompatible version raises :class:`StoreError`
        and nothing is overwritten.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.records_dir = self.root / "records"
        meta = self.root / "store.json"
        if meta.exists():
            info = json.loads(meta.read_text())
            if info.get("store_version") != STORE_VERSION:
                raise StoreError(f"results store {self.root} has store_version {info.get('store_version')} "
                                 f"(written by clusterage {info.get('package_version')}); this version reads "
                                 f"{STORE_VERSION}. Use another --store directory or delete this one.")
        elif self.root.exists() and any(self.root.iterdir()):
            raise StoreError(f"{self.root} exists and is not a results store (no store.json); "
                             f"choose an empty or new directory")
        else:
            self.records_dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(meta) as tmp:
                tmp.write_text(json.dumps({"store_version": STORE_VERSION, "package_version": __version__}))
        self.records_dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.records_dir / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def model_path(self, key: str) -> Path:
        """Where a record's trained model is kept when it was asked for (``models/<key>.keras``)."""
        return self.root / "models" / f"{key}.keras"

    def has_model(self, key: str) -> bool:
        return self.has(key) and self.model_path(key).exists()

    def load_model(self, key: str):
        """The trained Keras model of a record (saved with ``run_experiments(..., save_models=True)``).

        Raises
        ------
        FileNotFoundError
            If the model was not kept, saying how to get it.
        """
        import keras

        p = self.model_path(key)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no saved model for record {key}; train it with "
                                    f"run_experiments([...], save_models=True)")
        return keras.saving.load_model(p, compile=False)

    def put(self, record: dict) -> str:
        """Write a record atomically; returns its key."""
        key = record_key(record["hash"], record["data"]["fingerprint"])
        with atomic_path(self.path(key)) as tmp:
            tmp.write_text(json.dumps(record, default=_json_default))
        return key

    def get(self, key: str) -> dict:
        return json.loads(self.path(key).read_text())

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.records_dir.glob("*.json"))

    def scores(self, keys=None) -> pd.DataFrame:
        """One row per record: the experiment's fields (flattened), its scores, sizes and wall time."""
        rows = []
        for k in (keys if keys is not None else self.keys()):
            r = self.get(k)
            exp = Experiment.from_dict(r["experiment"])     # names follow today's vocabulary, not the record's
            row = {"key": k, "case": exp.case, "base_case": exp.base_case, "name": exp.name}
            row.update({f: v for f, v in exp.to_dict().items() if f != "training"})
            row.update({k2: v for k2, v in r.items() if isinstance(v, (int, float, str)) and k2 not in row})
            row["width"] = r["experiment"]["training"]["width"]
            row["max_epochs"] = r["experiment"]["training"]["epochs"]
            row["min_epochs"] = r["experiment"]["training"].get("min_epochs", 0)
            if "stopped_early" not in row and "epochs_run" in row:   # records written before it was stored
                row["stopped_early"] = row["epochs_run"] < row["max_epochs"]
            row["tf_threads"] = r.get("runtime", {}).get("tf_threads")
            row["late_val_gain"] = _late_gain(r.get("history", {}).get("val_loss", []))
            rows.append(row)
        return pd.DataFrame(rows)

    def predictions(self, key: str) -> pd.DataFrame:
        """Per-cluster predictions of one record (index, cluster_id, galaxy_id, set, label, pred[, true_log_age])."""
        return pd.DataFrame(self.get(key)["predictions"])

    def history(self, key: str) -> pd.DataFrame:
        """Loss curves of one record (epoch, loss, val_loss)."""
        h = pd.DataFrame(self.get(key)["history"])
        h.insert(0, "epoch", np.arange(1, len(h) + 1))
        return h


def _late_gain(val_loss, last: int = 3) -> float:
    """Relative gain of the validation loss in the last ``last`` epochs: (best before - best in them) / best
    before; positive when the run was still improving at its end (NaN for short runs)."""
    v = np.asarray(val_loss, float)
    if len(v) <= last:
        return float("nan")
    before = v[:-last].min()
    return float((before - v[-last:].min()) / before) if before > 0 else float("nan")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")
