"""The runtime of a training process: the Keras backend, its threads and device, determinism, a quiet start-up.

The engine runs on any Keras 3 backend: ``tensorflow`` (the default, and CI's), ``jax`` or ``torch``, chosen the
Keras way, by the ``KERAS_BACKEND`` environment variable before Keras is imported. Results are deterministic for
a given seed *and* runtime: the backend, the number of intra-op threads (it changes the order of floating-point
reductions: 0.01-0.04 dex on a test scatter, measured) and the device, so every record stores
:func:`runtime_info` beside its scores (not in the experiment's hash).

Settings that must be made before the backend is imported (environment variables) live in
:func:`prepare_environment`; entry points call it with no thread limit, worker processes call it with their own
thread count before anything imports Keras, and the engine calls it (keeping what is set) before it imports Keras
itself, so that a script calling the engine directly gets the same quiet start-up.
"""
from __future__ import annotations

import os
import platform
import sys

__all__ = ["BACKENDS", "backend_name", "prepare_environment", "seed_everything", "runtime_info",
           "backend_imported", "quiet_import_tf", "accelerator", "backend_versions"]

#: The Keras backends the engine supports.
BACKENDS = ("tensorflow", "jax", "torch")


def backend_name() -> str:
    """The Keras backend this process uses (``KERAS_BACKEND``, else Keras' configuration file, else
    ``tensorflow``), without importing Keras.

    Raises
    ------
    ValueError
        For a backend the engine does not support.
    """
    name = os.environ.get("KERAS_BACKEND")
    if name is None and "keras" in sys.modules:
        name = sys.modules["keras"].config.backend()
    if name is None:
        import json
        from pathlib import Path

        cfg = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            name = json.loads(cfg.read_text()).get("backend")
        except (OSError, ValueError):
            name = None
    name = name or "tensorflow"
    if name not in BACKENDS:
        raise ValueError(f"KERAS_BACKEND={name!r} is not supported by the clusterage engine; use one of "
                         f"{', '.join(BACKENDS)}")
    return name


def backend_imported() -> bool:
    """Whether the backend is already imported in this process (then thread settings can no longer change)."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend_name()]
    return module in sys.modules


def prepare_environment(threads: int | None = None, share_accelerator: bool = False) -> None:
    """Environment variables the backend reads at import.

    Parameters
    ----------
    threads : int, optional
        Intra-op threads (inter-op is then 1): a worker of a pool of one process per core uses 1. ``None``
        leaves the backend's default (all cores).
    share_accelerator : bool
        Several processes will share one GPU: do not let the first one take all of its memory (JAX's
        preallocation, TensorFlow's whole-memory default).

    Notes
    -----
    - ``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's C++ start-up log would clutter every page and console.
    - ``TF_ENABLE_ONEDNN_OPTS=1`` on x86-64: TensorFlow turns its oneDNN kernels on by default only on some Intel
      CPUs; on a 2-core AMD EPYC they train the laptop network 2-3x faster (``benchmarks/bench_training.py``).
    - JAX on a CPU: one thread per worker through XLA's flags.
    Values the user set are kept, except the thread counts asked for here.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if share_accelerator:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    if threads is not None:
        for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(int(threads))
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        if int(threads) == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1").strip()


def quiet_import_tf():
    """Import TensorFlow with file descriptor 2 silenced: its oneDNN and absl start-up lines are written before
    its log level applies. Errors still raise (the import's exception is not swallowed). TensorFlow-only code
    (the ``tf.data`` pipelines) calls it; the backend-neutral engine never needs it."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    prepare_environment()
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. a notebook kernel's stream: nothing to silence
        import tensorflow as tf
        return tf
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        import tensorflow as tf
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
    return tf


def _import_keras():
    """Keras, with TensorFlow's start-up lines silenced when it is the backend."""
    if "keras" not in sys.modules:
        prepare_environment()
    if backend_name() == "tensorflow":
        quiet_import_tf()
    import keras

    return keras


def seed_everything(seed: int, threads: int | None = None) -> str:
    """Seed Python, numpy and the backend, make the backend's ops deterministic where it can, and pin its
    threads.

    Parameters
    ----------
    seed : int
    threads : int, optional
        Intra-op threads; applied only if the backend's runtime has not started yet (otherwise ignored: see
        :func:`runtime_info` for what is in force). JAX takes its threads from :func:`prepare_environment`.

    Returns
    -------
    str
        The backend's name.

    Notes
    -----
    Every network's initial weights come from explicit initializer seeds (:func:`~.model.build_cnn`),
    so no Keras global seed generator is involved on any backend.
    """
    keras = _import_keras()
    name = keras.config.backend()
    if name == "tensorflow":
        tf = quiet_import_tf()
        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(int(threads))
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # the runtime is already initialised: keep what is in force
                pass
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # pragma: no cover - older TF
            pass
        keras.utils.set_random_seed(seed)
        return name
    import random

    import numpy as np

    random.seed(seed)              # keras.utils.set_random_seed would also import TensorFlow to seed tf.data
    np.random.seed(seed)
    if name == "torch":
        import torch

        if threads is not None:
            torch.set_num_threads(int(threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.manual_seed(seed)
    return name


def accelerator() -> str | None:
    """The backend's first accelerator, in words (e.g. ``GPU NVIDIA H200``), or None on a CPU."""
    name = _import_keras().config.backend()
    if name == "tensorflow":
        gpus = quiet_import_tf().config.list_physical_devices("GPU")
        return "GPU" if gpus else None
    if name == "jax":
        import jax

        dev = jax.devices()[0]
        return None if dev.platform == "cpu" else f"{dev.platform.upper()} {dev.device_kind}"
    import torch

    return f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else None


def backend_versions() -> dict:
    """Versions of Keras and of the backend in use, for a record (``{"keras": ..., "<backend>": ...}``)."""
    keras = _import_keras()
    name = keras.config.backend()
    module = quiet_import_tf() if name == "tensorflow" else __import__(name)
    return {"keras": keras.__version__, name: module.__version__}


def runtime_info() -> dict:
    """What a record's numbers depend on beyond its experiment: backend, intra-op threads, oneDNN, device.

    Returns
    -------
    dict
        ``backend`` (the Keras backend), ``device`` (``GPU ...`` or ``CPU xN``), ``onednn`` (the
        ``TF_ENABLE_ONEDNN_OPTS`` setting) and, on TensorFlow, ``tf_threads`` (intra-op threads in force, 0 =
        TensorFlow's default, all cores); on the other backends ``threads`` (the ``OMP_NUM_THREADS`` setting,
        0 = the backend's default).
    """
    name = backend_name()
    device = accelerator() or f"CPU x{os.cpu_count()}"
    info = {"backend": name, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"), "device": device}
    if name == "tensorflow":
        info["tf_threads"] = int(quiet_import_tf().config.threading.get_intra_op_parallelism_threads())
    else:
        info["threads"] = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    return info
