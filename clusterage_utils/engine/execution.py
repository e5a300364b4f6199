"""Run lists of experiments on every core, skipping what the results store already holds.

Schedulers
----------
``auto`` (default)
    A pool of worker processes when there is more than one training to run and more than one worker to run it,
    else this process.
``pool``
    A local pool of worker processes (``spawn``), by default one per core, each with ``threads_per_worker``
    intra-op threads (1): on a 2-core CPU two single-thread workers train 1.5x faster than one process using both
    cores (``benchmarks/bench_training.py``). With a GPU: one worker on JAX, several sharing it on the other
    backends (:func:`default_workers`). Workers use the Keras backend of the parent (``KERAS_BACKEND``).
``inprocess``
    This process, with whatever threads its backend already uses.
``dask-local`` or a scheduler address (``tcp://host:8786``)
    Dask: a ``distributed.LocalCluster`` of worker processes, or an existing cluster. On an HPC cluster, start
    the workers with ``dask-jobqueue``, one GPU per worker, e.g.::

        from dask_jobqueue import SLURMCluster
        cluster = SLURMCluster(cores=8, memory="64GB", processes=1, job_extra_directives=["--gres=gpu:1"])
        cluster.scale(jobs=8)
        run_experiments(exps, "cutouts.h5", "results/paper", scheduler=cluster.scheduler_address)

Pool workers write the backend's C++ log lines to ``<store>/logs/worker-<pid>.log``, not to the console. Workers
end with their parent: when the parent fails or is stopped (SIGTERM, SIGINT) it terminates them, and a worker whose
parent died anyway (SIGKILL) stops by itself (Linux's parent-death signal, and a watchdog thread elsewhere). A
stopped worker removes its temporary files; finished records stay, and the next run resumes.

Two runs on one store never train the same record twice: each task holds a lock in the store
(:meth:`~.store.ResultsStore.lock`) while it checks what is missing and trains it; a run that finds
a task locked by another process waits for it, then finds its records done (waiting is simpler than skipping and
coming back, and the other run's records are the same ones).
Workers write their records straight into the store, so the store directory and the cutout file must be on a
filesystem that all workers see. A record's scores are deterministic for a given experiment *and* thread
setting; each record stores its ``runtime`` (threads, oneDNN, device), which is not part of its key.

A script that calls :func:`run_experiments` with a pool must guard its top level with
``if __name__ == "__main__":`` (worker processes are spawned and import the main module).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path

import pandas as pd

from ..survey.cutouts import open_cutouts
from .experiments import Experiment
from .store import ResultsStore, record_key

__all__ = ["run_experiments", "SCHEDULERS", "GPU_WORKERS", "default_workers", "has_gpu", "train_group", "train_task",
           "train_and_store", "WorkerStopped"]

SCHEDULERS = ("auto", "pool", "inprocess", "dask-local")


def _keep_set(experiments: list[Experiment], save_models) -> frozenset[str]:
    """The hashes of the experiments whose trained model is kept: all retrained ones (``True``), none
    (``False``), or those given (a collection of hashes). Amortised models are shared by diameters, never kept."""
    if save_models is True:
        keep = {e.hash for e in experiments}
    elif not save_models:
        keep = set()
    else:
        keep = set(save_models)
    return frozenset(e.hash for e in experiments if e.hash in keep and e.masking != "amortised")


def train_group(exps: list[Experiment], data, store: ResultsStore, save_models=False) -> None:
    """Train one task into the store: the diameters of one amortised model, or retrained experiments one after
    the other; ``save_models``: True, False or the hashes of the experiments whose model to keep."""
    from . import training

    keep = _keep_set(exps, save_models)
    if exps[0].masking == "amortised":
        for rec in training.train_amortised(exps, data):
            store.put(rec)
    else:
        for e in exps:
            key = record_key(e.hash, data.fingerprint())
            rec = training.train_experiment(e, data, model_path=store.model_path(key) if e.hash in keep else None)
            store.put(rec)


def _missing(exps: list[Experiment], store: ResultsStore, fingerprint: str, keep: frozenset) -> list[Experiment]:
    return [e for e in exps if not (store.has_model if e.hash in keep else store.has)(record_key(e.hash, fingerprint))]


def train_task(exps: list[Experiment], data, store: ResultsStore, save_models=False, on_wait=None) -> None:
    """Train what the store lacks of one task (:func:`_task_key`), holding the task's lock in the store so that no
    other process trains it at the same time; ``on_wait()`` is called if another process holds it (this one then
    waits, and trains only what that one did not)."""
    fp = data.fingerprint()
    keep = _keep_set(exps, save_models)
    with store.lock(f"{_task_key(exps[0])}-{fp}", on_wait):
        todo = _missing(exps, store, fp, keep)
        if todo:
            train_group(todo, data, store, keep)


def train_and_store(exp_dicts: list[dict], data_path: str, store_root: str, save_models=False,
                    threads: int | None = None) -> list[str]:
    """Worker entry point: train one training group (experiments given as dicts) into the store; returns keys.

    ``threads``: intra-op threads, applied if the backend has not started in this worker yet (a Dask
    worker's first task; pool workers are set up by their initializer)."""
    from .runtime import backend_imported

    if threads is not None and not backend_imported():
        _start_worker(threads)
    exps = [Experiment.from_dict(d) for d in exp_dicts]
    data = open_cutouts(data_path)
    train_task(exps, data, ResultsStore(store_root), save_models)
    return [record_key(e.hash, data.fingerprint()) for e in exps]


class WorkerStopped(BaseException):
    """Raised in a pool worker by SIGTERM or SIGINT during a task, so that its temporary files are removed on the
    way out; the worker then exits (:func:`_pool_task`)."""


_IN_TASK = threading.Event()
#: Seconds a worker whose parent died gives its task to stop cleanly before it exits regardless.
_ORPHAN_GRACE_S = 30.0


def _stop_worker(signum, frame) -> None:
    if _IN_TASK.is_set():
        raise WorkerStopped(signum)
    os._exit(128 + signum)


def _pool_task(*args):
    """What a pool worker runs: :func:`train_and_store`; a stop signal unwinds the task (temporary files removed),
    then ends the process."""
    _IN_TASK.set()
    try:
        return train_and_store(*args)
    except WorkerStopped as stop:
        os._exit(128 + int(stop.args[0]))
    finally:
        _IN_TASK.clear()


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker stop when its parent dies, even by SIGKILL: Linux's parent-death signal (``prctl``), and a
    watchdog thread that notices the new parent pid anywhere else (SIGTERM, then exit after a grace period)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(_ORPHAN_GRACE_S)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent_pid:            # the parent died before the signal was armed
        os._exit(128 + signal.SIGTERM)


def _start_worker(threads: int | None, log_dir: str | None = None, share_accelerator: bool = False,
                  parent_pid: int | None = None) -> None:
    """Pool initializer: end with the parent (:func:`_die_with_parent`), stop cleanly on SIGTERM and SIGINT, pin
    the backend's threads before anything in the worker imports it (and, when several workers share a GPU, keep
    each from taking all of its memory), and send the worker's C++-level stderr (the backend's log lines) to
    ``<log_dir>/worker-<pid>.log`` instead of the console. Python errors still reach
    the caller through the pool."""
    from .runtime import prepare_environment, seed_everything

    if parent_pid is not None:
        signal.signal(signal.SIGTERM, _stop_worker)
        signal.signal(signal.SIGINT, _stop_worker)
        _die_with_parent(parent_pid)
    if log_dir is not None:
        fd = os.open(Path(log_dir) / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    prepare_environment(threads, share_accelerator=share_accelerator)
    seed_everything(0, threads=threads)


def _task_key(e: Experiment) -> str:
    """What one worker task trains: an amortised model (all its diameters), or every seed of one retrained case
    (the seeds then share the preprocessed cutouts a worker keeps in memory)."""
    return e.training_group if e.masking == "amortised" else dataclasses.replace(e, seed=0).hash


def _groups(experiments: list[Experiment]) -> list[list[Experiment]]:
    out: dict[str, list[Experiment]] = {}
    for e in experiments:
        out.setdefault(_task_key(e), []).append(e)
    return list(out.values())


def _cost(group: list[Experiment]) -> float:
    """A rough relative training cost, to start the longest tasks first (a balanced pool)."""
    e = group[0]
    size = (1.0 if e.sample == "full" else 0.5) * (0.3 if e.group else 1.0)
    models = (1 if e.masking == "amortised" else len(group)) * max(1, e.training.networks_per_seed) * e.training.folds
    return size * (1.2 if e.input == "five_band" else 1.0) * models * e.training.epochs


def has_gpu() -> bool:
    """Whether an NVIDIA GPU is visible, without importing the backend."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return shutil.which("nvidia-smi") is not None and Path("/dev/nvidia0").exists()


#: Worker processes sharing one GPU where an epoch is not one compiled loop (TensorFlow, torch): four Keras
#: processes on one H200 trained 4.1x the samples/s of one (issue 25); with JAX one worker's compiled epochs fill it.
GPU_WORKERS = 4


def default_workers() -> tuple[int, int | None]:
    """(worker processes, intra-op threads per worker) for a local pool: one single-thread worker per core on a
    CPU; on a GPU machine, one worker with the backend's default threads on JAX (device-resident compiled epochs,
    :mod:`~.resident`), else :data:`GPU_WORKERS` workers sharing the GPU."""
    if has_gpu():
        from .runtime import backend_name

        return (1 if backend_name() == "jax" else GPU_WORKERS), None
    return max(1, os.cpu_count() or 1), 1


def _resolved_input(groups: list[list[Experiment]], data, n_workers: int) -> list[list[Experiment]]:
    """Replace ``input_mode="auto"`` by what fits this machine with ``n_workers`` processes (the mode is not part
    of an experiment's hash: every mode gives identical batches)."""
    from .training import resolve_input_mode

    def fix(e: Experiment) -> Experiment:
        mode = resolve_input_mode(e.training.input_mode, data, n_workers)
        return dataclasses.replace(e, training=dataclasses.replace(e.training, input_mode=mode))

    return [[fix(e) for e in g] for g in groups]


def run_experiments(experiments: list[Experiment], data_path: str | os.PathLike, store_root: str | os.PathLike,
                    scheduler: str = "auto", n_workers: int | None = None, progress: bool = True,
                    save_models=False, threads_per_worker: int | None | str = "auto") -> pd.DataFrame:
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
        One of :data:`SCHEDULERS` or a Dask scheduler address (see the module docstring).
    n_workers : int, optional
        Worker processes of a pool or ``dask-local`` (default :func:`default_workers`).
    progress : bool
        One tqdm bar over the trainings, with an ETA.
    save_models : bool or collection of str
        Also keep trained models in the store (``store.load_model(key)``): every retrained one (True), or those
        of the experiments with these hashes. A record that exists without its kept model is trained again
        (training is deterministic for a given thread setting, so its scores do not change).
    threads_per_worker : int, None or "auto"
        Intra-op threads of each pool worker (``None``: the backend's default; ``auto``: 1 on a CPU, the default
        on a GPU, see :func:`default_workers`).

    Returns
    -------
    pandas.DataFrame
        :meth:`ResultsStore.scores` rows of the requested experiments, in their order.

    Raises
    ------
    ValueError
        For an unknown scheduler or fewer than one worker.
    """
    from tqdm.auto import tqdm

    _check_arguments(scheduler, n_workers)
    data = open_cutouts(data_path)
    store = ResultsStore(store_root)
    fp = data.fingerprint()
    distinct = list({e.hash: e for e in experiments}.values())
    keep = _keep_set(distinct, save_models)
    todo = _missing(distinct, store, fp, keep)
    _warn_set_aside(store, [record_key(e.hash, fp) for e in todo])
    groups = sorted(_groups(todo), key=_cost, reverse=True)
    bar = tqdm(total=len(distinct), initial=len(distinct) - len(todo), desc="trainings", unit="run",
               disable=not progress or not todo, smoothing=0.05)  # no bar when nothing to train
    try:
        if groups:
            _dispatch(groups, data, store, keep, scheduler, n_workers, threads_per_worker, bar)
    finally:
        bar.close()
    return store.scores([record_key(e.hash, fp) for e in experiments])


def _dispatch(groups: list[list[Experiment]], data, store: ResultsStore, keep: frozenset, scheduler: str,
              n_workers: int | None, threads_per_worker, bar) -> None:
    """Train the tasks ``groups`` with the scheduler asked for (``auto``: a pool when there is more than one task
    and more than one worker for them, else this process)."""
    auto_workers, auto_threads = default_workers()
    workers = n_workers or auto_workers
    if threads_per_worker == "auto":
        threads_per_worker = auto_threads
    if scheduler == "auto":
        scheduler = "pool" if len(groups) > 1 and min(workers, len(groups)) > 1 else "inprocess"
    workers = max(1, min(workers, len(groups)))
    if scheduler == "inprocess":
        for g in _resolved_input(groups, data, 1):
            bar.set_postfix_str(_label(g), refresh=True)
            train_task(g, data, store, keep, on_wait=_waiting_note(bar, g))
            bar.update(len(g))
    elif scheduler == "pool":
        _run_pool(_resolved_input(groups, data, workers), data.path, store.root, sorted(keep), workers,
                  threads_per_worker, bar)
    else:
        _run_dask(_resolved_input(groups, data, workers), data.path, store.root, sorted(keep), scheduler, workers,
                  bar)


def _waiting_note(bar, g: list[Experiment]):
    """What the progress bar says while another process trains ``g``'s task."""
    return lambda: bar.set_postfix_str(f"waiting: another process trains {_label(g)}", refresh=True)


def _check_arguments(scheduler: str, n_workers) -> None:
    if scheduler not in SCHEDULERS and "://" not in scheduler:
        raise ValueError(f"scheduler must be one of {SCHEDULERS} or a Dask address (tcp://host:port), "
                         f"got {scheduler!r}")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        raise ValueError(f"n_workers must be an integer >= 1 (or None: one per core), got {n_workers!r}")


def _warn_set_aside(store: ResultsStore, keys: list[str]) -> None:
    """Warn, naming the files, when records to be trained exist but are invalid (they are trained again)."""
    bad = {store.path(k): why for k in keys if (why := store.problem(k)) not in (None, "missing")}
    if bad:
        warnings.warn(f"{len(bad)} invalid record(s) set aside and trained again: "
                      + "; ".join(f"{p} ({why})" for p, why in list(bad.items())[:3]), stacklevel=3)


def _label(g: list[Experiment]) -> str:
    if len(g) == 1:
        return g[0].name
    if g[0].masking == "amortised":
        return f"{g[0].name} (+{len(g) - 1} diameters)"
    return f"{g[0].case} ({len(g)} seeds)"


def _run_pool(groups, data_path, store_root, save_models, n_workers, threads, bar) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    mp_context = multiprocessing.get_context("spawn")
    log_dir = Path(store_root).resolve() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("worker-*.log"):
        old.unlink()
    share = n_workers > 1 and has_gpu()
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=mp_context, initializer=_start_worker,
                             initargs=(threads, str(log_dir), share, os.getpid())) as pool:
        futs = {pool.submit(_pool_task, [e.to_dict() for e in g], str(Path(data_path).resolve()),
                            str(Path(store_root).resolve()), save_models): g for g in groups}
        pending = set(futs)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    g = futs[f]
                    try:
                        f.result()
                    except Exception as err:
                        raise RuntimeError(f"training {_label(g)} failed in a worker process: {err}") from err
                    bar.set_postfix_str(_label(g), refresh=False)
                    bar.update(len(g))
        except BaseException:
            for f in pending:
                f.cancel()
            _terminate_workers(pool)
            raise


def _terminate_workers(pool, grace_s: float = 20.0) -> None:
    """Stop a process pool's workers now (``shutdown`` would wait for their running tasks): SIGTERM, which lets
    each remove its temporary files, then SIGKILL for any still alive after ``grace_s``."""
    procs = list((getattr(pool, "_processes", None) or {}).values())   # no public API before Python 3.14
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(5)
    pool.shutdown(wait=False, cancel_futures=True)


def _run_dask(groups, data_path, store_root, save_models, scheduler, n_workers, bar) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "dask-local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futs = {client.submit(train_and_store, [e.to_dict() for e in g], str(Path(data_path).resolve()),
                              str(Path(store_root).resolve()), save_models, 1,
                              key=f"train-{g[0].training_group}", pure=False): len(g) for g in groups}
        for f in as_completed(futs):
            f.result()
            bar.update(futs[f])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
