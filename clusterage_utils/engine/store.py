"""The results store: one JSON record per trained model, written atomically, read back as pandas frames.

Layout: ``<root>/store.json`` (store version), ``<root>/records/<key>.json`` and, for models kept on request,
``<root>/models/<key>.keras``, where the key combines the
experiment's hash and the cutout file's fingerprint, so new data never reuses old results. A run killed half-way
leaves no record (temp file + rename) and is redone on the next call; its hidden ``.<key>.json.*.part.json``
temporary is ignored by every reader and removed by a later write (:mod:`clusterage_utils._atomic`).

A record is valid only when it parses and has every field of :data:`RECORD_FIELDS` (and its key matches its
experiment and data); an invalid one is named (:meth:`ResultsStore.set_aside`) and treated as missing, so the next
run trains it again and overwrites it. Records made on an earlier version of a data file stay readable under their
own keys; :meth:`ResultsStore.stale` lists them. Creating a store is safe when several processes do it at once,
and ``<root>/locks/`` holds one lock file per training task (:meth:`ResultsStore.lock`).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path, is_temporary, remove_stale_parts
from ..constants import __version__
from .experiments import Experiment

__all__ = ["STORE_VERSION", "RECORD_FIELDS", "StoreError", "InvalidRecordError", "record_key", "check_record",
           "ResultsStore"]

STORE_VERSION = 1
#: Fields every record has (what the scores, the health checks and the figures read).
RECORD_FIELDS = ("experiment", "hash", "case", "name", "data", "test_scatter_dex", "test_scatter_ci_lo",
                 "test_scatter_ci_hi", "null_scatter_dex", "predictive_power_pct", "n_train", "n_val", "n_test",
                 "history", "epochs_run", "best_epoch", "predictions", "wall_time_s")
#: What a store's root may hold while another process creates it (``store.json`` may appear after the check).
_STORE_ENTRIES = ("store.json", "records", "models", "logs", "locks")


class StoreError(ValueError):
    """The store on disk is not one this version can use; the message says what to do."""


class InvalidRecordError(StoreError):
    """A record file is unreadable or lacks fields; the message names the file (``reason``: what is wrong). Such a
    record counts as missing."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def record_key(exp_hash: str, data_fingerprint: str) -> str:
    return f"{exp_hash}-{data_fingerprint}"


def check_record(record, key: str | None = None) -> None:
    """Raise :class:`InvalidRecordError` (without a path) if ``record`` lacks a field of :data:`RECORD_FIELDS`,
    holds a field of the wrong kind, or does not belong under ``key``."""
    if not isinstance(record, dict):
        raise InvalidRecordError(f"a record is a JSON object, this is a {type(record).__name__}")
    missing = [f for f in RECORD_FIELDS if f not in record]
    if missing:
        raise InvalidRecordError(f"missing field(s) {missing}")
    data, preds, hist = record["data"], record["predictions"], record["history"]
    if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), str):
        raise InvalidRecordError("field 'data' has no fingerprint")
    if not isinstance(hist, dict) or not isinstance(preds, dict) or not {"set", "label", "pred"} <= set(preds):
        raise InvalidRecordError("field 'history' or 'predictions' is not a table")
    if len({len(v) for v in preds.values()}) > 1:
        raise InvalidRecordError("the columns of 'predictions' differ in length")
    for f in ("test_scatter_dex", "null_scatter_dex", "epochs_run"):
        if not isinstance(record[f], (int, float)) or isinstance(record[f], bool):
            raise InvalidRecordError(f"field {f!r} is not a number")
    try:
        Experiment.from_dict(record["experiment"])
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise InvalidRecordError(f"field 'experiment' does not describe an experiment ({e})") from None
    if key is not None and key != record_key(record["hash"], data["fingerprint"]):
        raise InvalidRecordError(f"it holds the record of {record_key(record['hash'], data['fingerprint'])}")


#: Validity of record files already read by this process: (path, inode, size, mtime) -> reason or None.
_CHECKED: dict[tuple, str | None] = {}


class ResultsStore:
    """A directory of training records.

    Parameters
    ----------
    root : path-like
        Created if absent (also when other processes create it at the same time). An existing store written by an
        incompatible version, or a folder holding other files, raises :class:`StoreError` and nothing is
        overwritten.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.records_dir = self.root / "records"
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} is a file, not a results store; choose a directory for --store")
        meta = self.root / "store.json"
        if not meta.exists():
            foreign = [p.name for p in self.root.iterdir() if p.name not in _STORE_ENTRIES
                       and not is_temporary(p.name)] if self.root.exists() else []
            if foreign:
                raise StoreError(f"{self.root} exists and is not a results store (no store.json; it holds "
                                 f"{foreign[:3]}); choose an empty or new directory")
            self.records_dir.mkdir(parents=True, exist_ok=True)
            if not meta.exists():  # several processes may get here at once: each writes the same file atomically
                with atomic_path(meta) as tmp:
                    tmp.write_text(json.dumps({"store_version": STORE_VERSION, "package_version": __version__}))
        try:
            info = json.loads(meta.read_text())
        except (OSError, ValueError) as e:
            raise StoreError(f"{meta} is unreadable ({e}); this is not a results store clusterage can use. Use "
                             f"another --store directory or delete this one") from e
        if info.get("store_version") != STORE_VERSION:
            raise StoreError(f"results store {self.root} has store_version {info.get('store_version')} "
                             f"(written by clusterage {info.get('package_version')}); this version reads "
                             f"{STORE_VERSION}. Use another --store directory or delete this one.")
        self.records_dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.records_dir / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether the store holds a valid record under ``key`` (an invalid one counts as missing)."""
        return self.problem(key) is None

    def problem(self, key: str) -> str | None:
        """Why the record of ``key`` cannot be used ("missing", or what is wrong with it), or None if it can."""
        p = self.path(key)
        try:
            st = p.stat()
        except OSError:
            return "missing"
        version = (str(p), st.st_ino, st.st_size, st.st_mtime_ns)
        if version not in _CHECKED:
            try:
                self._read(key)
                _CHECKED[version] = None
            except InvalidRecordError as e:
                _CHECKED[version] = e.reason
            except FileNotFoundError:
                return "missing"
        return _CHECKED[version]

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
        """Write a record atomically; returns its key. Stale temporaries of killed writers are removed first.

        Raises
        ------
        InvalidRecordError
            If the record lacks a field of :data:`RECORD_FIELDS` (nothing is written).
        """
        key = record_key(record["hash"], record["data"]["fingerprint"])
        try:
            check_record(record, key)
        except InvalidRecordError as e:
            raise InvalidRecordError(f"record {key} not written: {e}") from None
        remove_stale_parts(self.records_dir)
        with atomic_path(self.path(key)) as tmp:
            tmp.write_text(json.dumps(record, default=_json_default))
        return key

    def _read(self, key: str) -> dict:
        p = self.path(key)
        try:
            record = json.loads(p.read_text())
            check_record(record, key)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as e:
            reason = str(e) if isinstance(e, InvalidRecordError) else \
                f"unreadable ({e})" if isinstance(e, OSError) else f"not valid JSON, truncated? ({e})"
            raise InvalidRecordError(f"{p}: invalid record, {reason}; it counts as missing and the next run "
                                     f"trains it again", reason) from None
        return record

    def get(self, key: str) -> dict:
        """The record of ``key``.

        Raises
        ------
        FileNotFoundError
            If there is none.
        InvalidRecordError
            If its file is unreadable or lacks fields (naming the file).
        """
        return self._read(key)

    def keys(self) -> list[str]:
        """Keys of the record files (temporaries of unfinished writes excluded; validity is not checked)."""
        return sorted(p.name[:-5] for p in os.scandir(self.records_dir)
                      if p.name.endswith(".json") and not p.name.startswith("."))

    def set_aside(self) -> dict[Path, str]:
        """Every record file that is unreadable or invalid (path -> why): ignored, and trained again when a run
        needs it."""
        out = {}
        for k in self.keys():
            why = self.problem(k)
            if why not in (None, "missing"):
                out[self.path(k)] = why
        return out

    def stale(self, data, hashes=None) -> list[str]:
        """Keys of records made on ``data``'s file (same path) when it held other content: their fingerprint
        differs from the file's today. They stay readable but are no longer this file's results.

        Parameters
        ----------
        data : CutoutFile
        hashes : collection of str, optional
            Only records of these experiment hashes.
        """
        fp = data.fingerprint()
        here = Path(data.path).resolve()
        hashes = set(hashes) if hashes is not None else None
        out = []
        for k in self.keys():
            if k.endswith(f"-{fp}") or (hashes is not None and k.rsplit("-", 1)[0] not in hashes):
                continue
            try:
                path = self.get(k)["data"].get("path")
            except (InvalidRecordError, OSError):
                continue
            if path and Path(path).resolve() == here:
                out.append(k)
        return out

    @contextlib.contextmanager
    def lock(self, name: str, on_wait=None) -> Iterator[None]:
        """Hold the store-wide lock ``name`` (an exclusive ``flock`` on ``locks/<name>.lock``) for the block; if
        another process holds it, call ``on_wait()`` and wait. The kernel releases it when its holder dies. On a
        network filesystem without working locks two runs may both train a record: the later write wins, and
        the two records are the same training."""
        d = self.root / "locks"
        d.mkdir(exist_ok=True)
        with open(d / f"{name}.lock", "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def scores(self, keys=None) -> pd.DataFrame:
        """One row per record: the experiment's fields (flattened), its scores, sizes and wall time.

        ``keys``: these records (an invalid one raises :class:`InvalidRecordError` naming its file); default every
        valid record (invalid ones are skipped with a warning naming them)."""
        rows = []
        if keys is None:
            aside = self.set_aside()
            if aside:
                warnings.warn(f"{len(aside)} invalid record(s) set aside: "
                              + "; ".join(f"{p} ({why})" for p, why in list(aside.items())[:3]), stacklevel=2)
            keys = [k for k in self.keys() if self.path(k) not in aside]
        for k in keys:
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
            runtime = r.get("runtime", {})
            row["tf_threads"] = runtime.get("tf_threads")
            row["backend"] = runtime.get("backend", "tensorflow")      # records before 25 were all TensorFlow's
            row["pipeline"] = runtime.get("pipeline", "tf.data")
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
