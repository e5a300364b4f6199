"""Benchmark: training throughput and peak memory, our pipeline against a reference-style one, and the whole
machine with a pool of single-thread workers.

(a) ours, ``tensor``: the cutouts preprocessed once and held as one tensor; ``tf.data`` gathers and rotates each
    batch in the graph (:func:`clusterage_utils.engine.inputs.tensor_dataset`), one call into TensorFlow per epoch;
    ``stream``: batches read from HDF5 and preprocessed in numpy
    (:func:`~clusterage_utils.engine.inputs.generator_dataset`);
(b) reference-style, written here the way the study's scripts work: all cutouts loaded as numpy, four rotated
    copies materialised, per-instance min-max normalisation in numpy, ``model.fit`` on the arrays.

Same cutouts, model and batch size; each configuration runs in a fresh subprocess, so peak resident memory
(``ru_maxrss``) is its own. Measured at N and 4N cutouts (files made by tiling a source cutout file). ``pool``: as
many tensor-path processes as cores, each with one TensorFlow thread, run at the same time; their samples/s add up.

Goals: ours (one process) >= 0.95x the reference's samples/s at N and 4N with peak memory <= 0.5x; the pool >= 1.5x
the reference-style single process. Writes ``benchmarks/results/training.csv``.

Usage: python benchmarks/bench_training.py [--data FILE.h5] [--n 512] [--widths 0.0625]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STEPS = {0.0625: 60, 1.0: 4}


def _worker(cfg: dict) -> dict:
    from clusterage_utils.engine.runtime import prepare_environment

    prepare_environment(cfg.get("threads"))
    import h5py

    from clusterage_utils.engine.model import build_cnn
    from clusterage_utils.engine.preprocessing import normalise, visible_pixels
    from clusterage_utils.engine.runtime import seed_everything
    from clusterage_utils.sweeps import MaskKind

    seed_everything(0, threads=cfg.get("threads"))
    width, bs, steps = cfg["width"], 32, cfg["steps"]
    path = cfg["data"]
    if cfg["kind"] == "reference":
        with h5py.File(path, "r") as f:
            x = f["image_cutouts"][()]                                    # everything in memory
            y = f["cluster_log_ages"][()].astype(np.float32)
        x = np.concatenate([np.rot90(x, k, axes=(2, 3)) for k in range(4)])   # four rotated copies
        y = np.concatenate([y] * 4)
        vis = visible_pixels(MaskKind.NONE, 0, x.shape[-1])
        x = normalise(x, vis, "instance").transpose(0, 2, 3, 1).copy()      # numpy, per instance
        y = (y - y.min()) / (y.max() - y.min())
        model = build_cnn(x.shape[1:], width=width, learning_rate=1e-4, seed=0)
        model.fit(x[:bs * 2], y[:bs * 2], batch_size=bs, epochs=1, verbose=0)
        n = min(len(x), steps * bs)
        t0 = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=bs, epochs=1, verbose=0, shuffle=True)
        dt = time.perf_counter() - t0
    else:
        from clusterage_utils.engine.inputs import InputSource, generator_dataset, tensor_dataset
        from clusterage_utils.survey.cutouts import open_cutouts

        cf = open_cutouts(path)
        vis = visible_pixels(MaskKind.NONE, 0, cf.shape[-1])
        idx = np.arange(cf.n)
        y = ((cf.log_ages - cf.log_ages.min()) / np.ptp(cf.log_ages)).astype(np.float32)
        size = cf.shape[-1]
        if cfg["mode"] == "tensor":
            src = InputSource(cf, "five_band", "instance", "memory")
            ds = tensor_dataset(src.preprocessed(vis), idx, y, bs, "all", 0)
        else:
            src = InputSource(cf, "five_band", "instance", "stream")
            ds = generator_dataset(lambda p, m: src.batch(idx[p], vis), y, bs, "all", 0,
                                   image_shape=(size, size, 5))
        model = build_cnn((size, size, 5), width=width, learning_rate=1e-4, seed=0, precision=cfg["precision"],
                          jit_compile=cfg["jit"], steps_per_execution=steps)
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)     # traces the epoch's loop
        n = steps * bs
        t0 = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        dt = time.perf_counter() - t0
    return {"samples_per_s": n / dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run(cfg: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_pool(cfg: dict, n_procs: int) -> dict:
    """``n_procs`` single-thread tensor-path processes at once; total samples/s and the largest peak memory."""
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", json.dumps({**cfg, "threads": 1})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n_procs)]
    res = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode:
            raise RuntimeError(err[-3000:])
        res.append(json.loads(out.strip().splitlines()[-1]))
    return {"samples_per_s": sum(r["samples_per_s"] for r in res),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in res)}


def _tile(src: Path, n: int, dest: Path) -> Path:
    """A cutout file of exactly n cutouts, tiling those of ``src`` (the study's schema)."""
    import h5py

    with h5py.File(src, "r") as f:
        images = f["image_cutouts"][()]          # the benchmark's setup, not what it measures
        ages, gids = f["cluster_log_ages"][()], f["galaxy_ids"][()]
    take = np.arange(n) % len(images)
    with h5py.File(dest, "w") as g:
        d = g.create_dataset("image_cutouts", shape=(n, *images.shape[1:]), dtype="float32",
                             chunks=(1, *images.shape[1:]), compression="lzf", shuffle=True)
        for s in range(0, n, 256):
            d[s:s + 256] = images[take[s:s + 256]]
        g["cluster_log_ages"] = ages[take]
        g["cluster_ids"] = np.arange(n, dtype=np.int32)
        g.create_dataset("galaxy_ids", data=gids[take], dtype=h5py.string_dtype())
    return dest


def main() -> None:
    from clusterage_utils.book.cost import save_benchmark

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/laptop/cutouts.h5", help="source cutout file (tiled to N and 4N)")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--widths", type=float, nargs="+", default=[0.0625])
    ap.add_argument("--repeats", type=int, default=2, help="runs per configuration (the best is kept)")
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` (or `clusterage curate`) first, or pass --data")
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as d:
        files = {n: _tile(Path(a.data), n, Path(d) / f"n{n}.h5") for n in (a.n, 4 * a.n)}
        for width in a.widths:
            steps = STEPS.get(width, 10)
            for n, f in files.items():
                confs = [("reference", dict(kind="reference"), 0),
                         ("ours: tensor", dict(kind="ours", mode="tensor", precision="float32", jit=False), 0),
                         ("ours: stream", dict(kind="ours", mode="stream", precision="float32", jit=False), 0),
                         (f"ours: pool of {cores} x 1 thread",
                          dict(kind="ours", mode="tensor", precision="float32", jit=False), cores)]
                for name, c, pool in confs:
                    cfg = {**c, "width": width, "steps": steps, "data": str(f)}
                    runs = [_run_pool(cfg, pool) if pool else _run(cfg) for _ in range(a.repeats)]
                    r = max(runs, key=lambda x: x["samples_per_s"])
                    rows.append({"width": width, "N": n, "pipeline": name, **r})
                    print(f"width {width:<7g} N {n:<6d} {name:28s} {r['samples_per_s']:8.1f} samples/s "
                          f"{r['peak_rss_mb']:8.0f} MB peak", flush=True)
    import pandas as pd

    df = pd.DataFrame(rows)
    ref = df[df["pipeline"] == "reference"].set_index(["width", "N"])
    df["speed_vs_reference"] = [r.samples_per_s / ref.loc[(r.width, r.N), "samples_per_s"] for r in df.itertuples()]
    df["memory_vs_reference"] = [r.peak_rss_mb / ref.loc[(r.width, r.N), "peak_rss_mb"] for r in df.itertuples()]
    print(df.round(2).to_string(index=False))
    save_benchmark("training", df.round(3), n=a.n, widths=a.widths, data=a.data, repeats=a.repeats,
                   goals="one process >= 0.95x reference speed, <= 0.5x memory; pool >= 1.5x reference")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
    else:
        main()
