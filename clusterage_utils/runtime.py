"""The TensorFlow runtime of a training process: threads, oneDNN kernels, determinism, a quiet start-up.

Results are deterministic for a given seed *and* runtime: the number of intra-op threads changes the order of
floating-point reductions (measured: 0.01-0.04 dex on a test scatter), so every record stores
:func:`runtime_info` beside its scores (not in the experiment's hash).

Settings that must be made before TensorFlow is imported (environment variables) live in
:func:`prepare_environment`; the package calls it on import with no thread limit, and worker processes call it
with their own thread count before anything imports TensorFlow.
"""
from __future__ import annotations

import os
import platform

__all__ = ["prepare_environment", "seed_everything", "runtime_info", "tensorflow_imported", "quiet_import_tf"]


def tensorflow_imported() -> bool:
    """Whether TensorFlow is already imported in this process (then thread settings can no longer change)."""
    import sys

    return "tensorflow" in sys.modules


def prepare_environment(threads: int | None = None) -> None:
    """Environment variables TensorFlow reads at import.

    Parameters
    ----------
    threads : int, optional
        Intra-op threads (inter-op is then 1): a worker of a pool of one process per core uses 1. ``None``
        leaves TensorFlow's default (all cores).

    Notes
    -----
    - ``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's C++ start-up log would clutter every page and console.
    - ``TF_ENABLE_ONEDNN_OPTS=1`` on x86-64: TensorFlow turns its oneDNN kernels on by default only on some Intel
      CPUs; on the 2-core AMD EPYC (AVX2) of our CI they train the laptop network 2-3x faster
      (``benchmarks/bench_training.py``). A value the user set is kept.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if threads is not None:
        for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(int(threads))
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def quiet_import_tf():
    """Import TensorFlow with file descriptor 2 silenced: its oneDNN and absl start-up lines are written before
    its log level applies. Errors still raise (the import's exception is not swallowed)."""
    import sys

    if tensorflow_imported():
        return sys.modules["tensorflow"]
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


def seed_everything(seed: int, threads: int | None = None):
    """Seed Python, numpy and TensorFlow, make TensorFlow's ops deterministic, and pin its threads.

    Parameters
    ----------
    seed : int
    threads : int, optional
        Intra-op threads; applied only if TensorFlow's runtime has not started yet (otherwise ignored: see
        :func:`runtime_info` for what is in force).

    Returns
    -------
    module
        ``tensorflow``.
    """
    tf = quiet_import_tf()
    import keras

    if threads is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # the runtime is already initialised: keep what is in force
            pass
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass
    return tf


def runtime_info() -> dict:
    """What a record's numbers depend on beyond its experiment: intra-op threads, oneDNN, device.

    Returns
    -------
    dict
        ``tf_threads`` (intra-op threads in force, 0 = TensorFlow's default, all cores), ``onednn`` (the
        ``TF_ENABLE_ONEDNN_OPTS`` setting) and ``device`` (``GPU`` or ``CPU xN``).
    """
    tf = quiet_import_tf()
    return {"tf_threads": int(tf.config.threading.get_intra_op_parallelism_threads()),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "device": "GPU" if tf.config.list_physical_devices("GPU") else f"CPU x{os.cpu_count()}"}
