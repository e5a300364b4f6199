"""The results store: atomic records, skipping what is done, refusing what is not a store."""
import dataclasses
import json

import pytest
from helpers import TOY

from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import (
    Experiment,
)
from clusterage_utils.engine.store import ResultsStore, StoreError


def test_store_skips_done_and_redoes_killed_runs(toy_file, tmp_path, monkeypatch):
    import clusterage_utils.engine.training as training

    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    exps = [Experiment(training=quick, seed=s) for s in (0, 1)]
    calls = []
    real = training.train_experiment

    def killed_on_second(exp, data, **kw):
        calls.append(exp.seed)
        if exp.seed == 1:
            raise KeyboardInterrupt   # killed half-way: before its record is written
        return real(exp, data, **kw)

    monkeypatch.setattr(training, "train_experiment", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_experiments(exps, toy_file, tmp_path / "s", progress=False, scheduler="inprocess")
    store = ResultsStore(tmp_path / "s")
    assert len(store.keys()) == 1 and not list((tmp_path / "s").rglob("*.part"))
    monkeypatch.setattr(training, "train_experiment", real)
    calls.clear()
    df = run_experiments(exps, toy_file, tmp_path / "s", progress=False, scheduler="inprocess")
    assert len(df) == 2 and len(store.keys()) == 2
    monkeypatch.setattr(training, "train_experiment", killed_on_second)
    calls.clear()
    run_experiments(exps, toy_file, tmp_path / "s", progress=False)   # nothing new: trains nothing
    assert calls == []
    h = store.history(store.keys()[0])
    assert list(h.columns[:3]) == ["epoch", "loss", "val_loss"]
    p = store.predictions(store.keys()[0])
    assert set(p["set"]) == {"train", "val", "test"}

def test_incompatible_store_is_refused_and_kept(tmp_path):
    root = tmp_path / "s"
    ResultsStore(root)
    (root / "store.json").write_text(json.dumps({"store_version": 99, "package_version": "9.9"}))
    with pytest.raises(StoreError, match="store_version 99"):
        ResultsStore(root)
    assert json.loads((root / "store.json").read_text())["store_version"] == 99
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a results store"):
        ResultsStore(tmp_path / "other")
