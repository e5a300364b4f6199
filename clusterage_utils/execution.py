"""Run lists of experiments: in-process (default) or on Dask, skipping what the store already holds.

Dask: ``scheduler="dask-local"`` starts a ``distributed.LocalCluster`` of worker processes on this machine;
any other value is taken as a scheduler address (``tcp://host:8786``). On an HPC cluster, start the workers with
``dask-jobqueue``, one GPU per worker, e.g.::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="64GB", processes=1, job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=8)
    run_experiments(exps, "cutouts.h5", "results/paper", scheduler=cluster.scheduler_address)

Workers write their records straight into the store, so the store directory and the cutout file must be on a
filesystem that all workers see.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .cutouts import open_cutouts
from .experiments import Experiment
from .store import ResultsStore, record_key


def train_group(exps: list[Experiment], data, store: ResultsStore, save_models: bool = False) -> None:
    """Train one training group (a single experiment, or the diameters of one amortised model) into the store."""
    from . import training

    if exps[0].masking == "amortised":
        if save_models:
            raise ValueError("save_models is for retrained experiments; an amortised model is shared by diameters")
        for rec in training.train_amortised(exps, data):
            store.put(rec)
    else:
        for e in exps:
            key = record_key(e.hash, data.fingerprint())
            rec = training.train_experiment(e, data, model_path=store.model_path(key) if save_models else None)
            store.put(rec)


def _missing(exps: list[Experiment], store: ResultsStore, fingerprint: str, save_models: bool) -> list[Experiment]:
    has = store.has_model if save_models else store.has
    return [e for e in exps if not has(record_key(e.hash, fingerprint))]


def train_and_store(exp_dicts: list[dict], data_path: str, store_root: str, save_models: bool = False) -> list[str]:
    """Worker entry point: train one training group (experiments given as dicts) into the store; returns keys."""
    exps = [Experiment.from_dict(d) for d in exp_dicts]
    data = open_cutouts(data_path)
    store = ResultsStore(store_root)
    todo = _missing(exps, store, data.fingerprint(), save_models)
    if todo:
        train_group(todo, data, store, save_models)
    return [record_key(e.hash, data.fingerprint()) for e in exps]


def _groups(experiments: list[Experiment]) -> list[list[Experiment]]:
    out: dict[str, list[Experiment]] = {}
    for e in experiments:
        out.setdefault(e.training_group, []).append(e)
    return list(out.values())


def run_experiments(experiments: list[Experiment], data_path: str | os.PathLike, store_root: str | os.PathLike,
                    scheduler: str = "local", n_workers: int = 2, progress: bool = True,
                    save_models: bool = False) -> pd.DataFrame:
    """Train every experiment not yet in the store and return the scores of all of them.

    Parameters
    ----------
    experiments : list of Experiment
        Duplicates are run once; amortised experiments sharing a model are trained once.
    data_path : path-like
        The cutout file.
    store_root : path-like
        The results store directory.
    scheduler : str
        ``local`` (in this process), ``dask-local`` (a LocalCluster of ``n_workers`` processes) or a Dask
        scheduler address.
    progress : bool
        A tqdm bar over runs, with an ETA.
    save_models : bool
        Also keep each trained model in the store (``store.load_model(key)``); a record that exists without its
        model is trained again (training is deterministic, so its scores do not change).

    Returns
    -------
    pandas.DataFrame
        :meth:`ResultsStore.scores` rows of the requested experiments, in their order.
    """
    from tqdm.auto import tqdm

    data = open_cutouts(data_path)
    store = ResultsStore(store_root)
    fp = data.fingerprint()
    unique = list({e.hash: e for e in experiments}.values())
    keys = [record_key(e.hash, fp) for e in experiments]
    todo = _missing(unique, store, fp, save_models)
    bar = tqdm(total=len(unique), initial=len(unique) - len(todo), desc="trainings", unit="run",
               disable=not progress or not todo, smoothing=0.1)  # no bar when nothing to train
    groups = _groups(todo)
    try:
        if todo and scheduler == "local":
            for g in groups:
                bar.set_postfix_str(g[0].name + (f" (+{len(g) - 1} diameters)" if len(g) > 1 else ""), refresh=True)
                train_group(g, data, store, save_models)
                bar.update(len(g))
        elif todo:
            from dask.distributed import Client, LocalCluster, as_completed

            cluster = None
            if scheduler == "dask-local":
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            else:
                client = Client(scheduler)
            try:
                futs = {client.submit(train_and_store, [e.to_dict() for e in g], str(Path(data_path).resolve()),
                                      str(Path(store_root).resolve()), save_models,
                                      key=f"train-{g[0].training_group}",
                                      pure=False): len(g) for g in groups}
                for f in as_completed(futs):
                    f.result()
                    bar.update(futs[f])
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
    return store.scores(keys)
