"""Running experiments: the worker pool, Dask, schedulers, bad files."""
import dataclasses

import numpy as np
import pytest
from helpers import TOY, write_study_file

from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import (
    Experiment,
)
from clusterage_utils.engine.store import ResultsStore

pytestmark = pytest.mark.engine


def test_worker_pool_matches_sequential_single_thread_runs(toy_file, tmp_path):
    """Two single-thread workers give exactly the records of one single-thread worker running both trainings in
    turn (and Dask's LocalCluster the same); each record says which runtime made it."""
    quick = dataclasses.replace(TOY, epochs=2, patience=2)
    exps = [Experiment(training=quick, seed=0), Experiment(training=quick, seed=0, input="white_light")]
    pool = run_experiments(exps, toy_file, tmp_path / "pool", scheduler="pool", n_workers=2, threads_per_worker=1,
                           progress=False)
    seq = run_experiments(exps, toy_file, tmp_path / "seq", scheduler="pool", n_workers=1, threads_per_worker=1,
                          progress=False)
    assert list(pool["key"]) == list(seq["key"])
    for col in ("test_scatter_dex", "val_scatter_dex", "train_scatter_dex"):
        np.testing.assert_array_equal(pool[col], seq[col])
    rec = ResultsStore(tmp_path / "pool").get(pool["key"].iloc[0])
    from clusterage_utils.engine.runtime import backend_name

    runtime = rec["runtime"]
    assert runtime["backend"] == backend_name() and runtime["input_mode"] == "memory"
    assert runtime["tf_threads" if backend_name() == "tensorflow" else "threads"] == 1
    assert (pool["backend"] == backend_name()).all() and pool["pipeline"].notna().all()     # and in the scores
    assert rec["experiment"]["training"]["input_mode"] == "memory"       # "auto" resolved, hash unchanged
    assert Experiment.from_dict(rec["experiment"]).hash == exps[0].hash
    if backend_name() == "tensorflow" and pytest.importorskip("dask.distributed"):   # the scheduler, once
        dask = run_experiments(exps, toy_file, tmp_path / "dask", scheduler="dask-local", n_workers=2,
                               progress=False)
        np.testing.assert_array_equal(dask["test_scatter_dex"], seq["test_scatter_dex"])
    with pytest.raises(ValueError, match="scheduler must be one of"):
        run_experiments(exps, toy_file, tmp_path / "x", scheduler="slurm", progress=False)

def test_wrong_shape_file_is_refused(tmp_path):
    from clusterage_utils.survey.cutouts import CutoutFileError

    p = write_study_file(tmp_path / "bad.h5", image_cutouts=np.zeros((6, 5, 32, 30), np.float32))
    with pytest.raises(CutoutFileError, match="image_cutouts"):
        run_experiments([Experiment(training=TOY)], p, tmp_path / "s", progress=False)
