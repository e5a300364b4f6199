"""Benchmark: training throughput and peak memory, our pipeline against a reference-style one.

(a) ours: :class:`clusterage_utils.training.InputSource` (streamed from HDF5, or read once into memory) feeding
    ``tf.data`` with on-the-fly rotations and per-batch normalisation, optional mixed precision / XLA;
(b) reference-style, written here the way the study's scripts work: all cutouts loaded as numpy, four rotated
    copies materialised, per-instance min-max normalisation in numpy, ``model.fit`` on the arrays.

Same cutouts, model and batch size. Each configuration runs in a fresh subprocess, so peak resident memory
(``ru_maxrss``) is its own. Measured at N and 4N cutouts (files made by tiling a source cutout file), for the
laptop and the paper network widths.

Goals (issue: speed): ours >= 1.5x the reference's samples/s; ours' peak memory <= half of the reference's and
flat in N (streamed input).

Usage: python benchmarks/bench_training.py [--data FILE.h5] [--n 512] [--widths 0.0625 1.0]
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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import h5py

    from clusterage_utils.model import build_cnn
    from clusterage_utils.preprocessing import normalise, visible_pixels
    from clusterage_utils.training import _configure_tf

    tf = _configure_tf(0)
    width, bs, steps = cfg["width"], 32, cfg["steps"]
    path = cfg["data"]
    if cfg["kind"] == "reference":
        with h5py.File(path, "r") as f:
            x = f["image_cutouts"][()]                                    # everything in memory
            y = f["cluster_log_ages"][()].astype(np.float32)
        x = np.concatenate([np.rot90(x, k, axes=(2, 3)) for k in range(4)])   # four rotated copies
        y = np.concatenate([y] * 4)
        vis = visible_pixels("none", 0, x.shape[-1])
        x = normalise(x, vis, "instance").transpose(0, 2, 3, 1).copy()      # numpy, per instance
        y = (y - y.min()) / (y.max() - y.min())
        model = build_cnn(x.shape[1:], width=width, learning_rate=1e-4, seed=0)
        model.fit(x[:bs * 2], y[:bs * 2], batch_size=bs, epochs=1, verbose=0)
        n = min(len(x), steps * bs)
        t0 = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=bs, epochs=1, verbose=0, shuffle=True)
        dt = time.perf_counter() - t0
    else:
        from clusterage_utils.cutouts import open_cutouts
        from clusterage_utils.training import InputSource, batches

        cf = open_cutouts(path)
        src = InputSource(cf, "five_band", "instance", cfg["mode"])
        idx = np.arange(cf.n)
        y = ((cf.log_ages - cf.log_ages.min()) / np.ptp(cf.log_ages)).astype(np.float32)
        masks = visible_pixels("none", 0, cf.shape[-1])[None]

        def gen():
            e = 0
            while True:
                yield from batches(lambda p, m: src.batch(idx[p], masks[m]), y, bs, "all", 0, e)
                e += 1

        size = cf.shape[-1]
        spec = (tf.TensorSpec((None, size, size, 5), tf.float32), tf.TensorSpec((None,), tf.float32))
        ds = tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(2)
        model = build_cnn((size, size, 5), width=width, learning_rate=1e-4, seed=0, precision=cfg["precision"],
                          jit_compile=cfg["jit"])
        model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/laptop/cutouts.h5", help="source cutout file (tiled to N and 4N)")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--widths", type=float, nargs="+", default=[0.0625, 1.0])
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` (or `clusterage curate`) first, or pass --data")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        files = {n: _tile(Path(a.data), n, Path(d) / f"n{n}.h5") for n in (a.n, 4 * a.n)}
        for width in a.widths:
            steps = STEPS.get(width, 10)
            for n, f in files.items():
                confs = [("reference", dict(kind="reference")),
                         ("ours: stream", dict(kind="ours", mode="stream", precision="float32", jit=False)),
                         ("ours: memory", dict(kind="ours", mode="memory", precision="float32", jit=False)),
                         ("ours: stream+bf16", dict(kind="ours", mode="stream", precision="mixed_bfloat16",
                                                    jit=False))]
                if width < 0.5:
                    confs.append(("ours: stream+XLA", dict(kind="ours", mode="stream", precision="float32",
                                                           jit=True)))
                for name, c in confs:
                    r = _run({**c, "width": width, "steps": steps, "data": str(f)})
                    rows.append({"width": width, "N": n, "pipeline": name, **r})
                    print(f"width {width:<7g} N {n:<6d} {name:20s} {r['samples_per_s']:8.1f} samples/s "
                          f"{r['peak_rss_mb']:8.0f} MB peak", flush=True)
    print("\nratios against the reference at the same width and N (goal: speed >= 1.5, memory <= 0.5)")
    for width in a.widths:
        for n in (a.n, 4 * a.n):
            ref = next(r for r in rows if r["width"] == width and r["N"] == n and r["pipeline"] == "reference")
            for r in rows:
                if r["width"] == width and r["N"] == n and r["pipeline"] != "reference":
                    sp = r["samples_per_s"] / ref["samples_per_s"]
                    mem = r["peak_rss_mb"] / ref["peak_rss_mb"]
                    print(f"width {width:<7g} N {n:<6d} {r['pipeline']:20s} speed x{sp:5.2f} "
                          f"({'met' if sp >= 1.5 else 'missed'})  memory x{mem:5.2f} ({'met' if mem <= 0.5 else 'missed'})")
        for name in ("ours: stream", "ours: memory"):
            m = [r["peak_rss_mb"] for r in rows if r["width"] == width and r["pipeline"] == name]
            print(f"width {width:<7g} {name}: peak memory 4N / N = {m[1] / m[0]:.2f} (flat = ~1)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
    else:
        main()
