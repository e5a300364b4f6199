"""Benchmark: the engine's training speed on an accelerator against a plain-JAX limit of its own.

For the laptop network (width 1/16) and the study's (width 1), 112 x 112 x 5 cutouts, batch 32, one random
90-degree rotation per cutout and epoch:

``engine``
    :func:`clusterage_utils.engine.fitting.measure_throughput`: the pipeline the book trains with on this process's
    Keras backend (on JAX: cutouts resident on the device, an epoch as one compiled ``lax.scan`` over Keras'
    stateless training step; on TensorFlow: ``tf.data`` and ``fit``), validation included.
``limit``
    The same network written in plain JAX (``lax.conv_general_dilated``, Adam by hand), the same device-resident
    cutouts, rotations in the graph and one compiled epoch, no validation: what the device does with no framework
    in the way.
``engine x k``
    ``k`` engine processes sharing the device at once (samples/s added up): how several workers fill it.

Goal (issue 25): the engine >= 0.5x the limit per device, for both networks, aggregated over its workers.
Each measurement runs in a fresh subprocess. Writes ``benchmarks/results/gpu.{csv,json}`` with the device, the
backend and the precision of every row. Runs anywhere JAX runs (on a CPU it measures the CPU: the rows say so).

Usage: KERAS_BACKEND=jax python benchmarks/bench_gpu.py [--n 6055] [--widths 0.0625 1] [--precisions float32
mixed_bfloat16] [--workers 1 2 4] [--epochs 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

BATCH = 32
SIZE = 112
BANDS = 5


def _settings(width: float, precision: str):
    from clusterage_utils.engine.profiles import TrainingSettings

    return TrainingSettings(width=width, batch_size=BATCH, rotations="random", precision=precision,
                            min_dense_units=32 if width < 1 else 4)


def _engine(cfg: dict) -> dict:
    from clusterage_utils.engine.fitting import measure_throughput

    r = measure_throughput((SIZE, SIZE, BANDS), _settings(cfg["width"], cfg["precision"]), n_train=cfg["n"],
                           n_val=cfg["n_val"], epochs=cfg["epochs"])
    return {"samples_per_s": r["train_samples_per_s"], "predict_samples_per_s": r["predict_samples_per_s"],
            "pipeline": r["pipeline"]}


def _limit_params(width: float, key):
    """Parameters of the study's CNN (paper layer order) at ``width``, Glorot-uniform, as plain arrays."""
    import jax
    import jax.numpy as jnp

    def w(n, floor=4):
        return max(floor, int(round(n * width)))

    def glorot(k, shape, fan_in, fan_out):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return jax.random.uniform(k, shape, jnp.float32, -lim, lim)

    keys = jax.random.split(key, 8)
    chans = [BANDS, w(128), w(256), w(512)]
    convs = [(glorot(keys[i], (3, 3, chans[i], chans[i + 1]), 9 * chans[i], 9 * chans[i + 1]),
              jnp.zeros(chans[i + 1])) for i in range(3)]
    side = SIZE
    for _ in range(3):
        side = (side - 2) // 2
    dims = [side * side * chans[3]] + [w(n, 32 if width < 1 else 4) for n in (512, 256, 128)] + [1]
    dense = [(glorot(keys[3 + i], (dims[i], dims[i + 1]), dims[i], dims[i + 1]), jnp.zeros(dims[i + 1]))
             for i in range(4)]
    return {"conv": convs, "dense": dense}


def _limit_forward(params, x, dtype):
    import jax
    import jax.numpy as jnp

    h = x.astype(dtype)
    for k, b in params["conv"]:
        h = jax.lax.conv_general_dilated(h, k.astype(dtype), (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h + b.astype(dtype))
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = h.reshape(h.shape[0], -1)
    for i, (k, b) in enumerate(params["dense"]):
        h = h @ k.astype(dtype) + b.astype(dtype)
        if i < 3:
            h = jax.nn.relu(h)
    return h[:, 0].astype(jnp.float32)


def _limit(cfg: dict) -> dict:
    """The plain-JAX limit: device-resident cutouts, rotations in the graph, one compiled epoch (scan)."""
    import jax
    import jax.numpy as jnp

    from clusterage_utils.engine.inputs import dihedral_permutations

    dtype = jnp.bfloat16 if "bfloat16" in cfg["precision"] else jnp.float32
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((cfg["n"], SIZE, SIZE, BANDS), dtype=np.float32))
    y = jnp.asarray(rng.random(cfg["n"], dtype=np.float32))
    perms = jnp.asarray(dihedral_permutations(SIZE, SIZE))
    params = _limit_params(cfg["width"], jax.random.PRNGKey(0))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    tmap = jax.tree_util.tree_map

    def step(carry, batch):
        params, m, v, t = carry
        idx, code = batch
        xb = jnp.take_along_axis(x[idx].reshape(-1, SIZE * SIZE, BANDS), perms[code][..., None], axis=1)
        xb = xb.reshape(-1, SIZE, SIZE, BANDS)
        loss, g = jax.value_and_grad(lambda p: jnp.mean((_limit_forward(p, xb, dtype) - y[idx]) ** 2))(params)
        t = t + 1
        m = tmap(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = tmap(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        params = tmap(lambda p, a, b: p - 1e-4 * (a / (1 - 0.9 ** t)) / (jnp.sqrt(b / (1 - 0.999 ** t)) + 1e-7),
                      params, m, v)
        return (params, m, v, t), loss

    epoch = jax.jit(lambda carry, batches: jax.lax.scan(step, carry, batches))
    steps = cfg["n"] // BATCH

    def batches(e):
        r = np.random.default_rng(e)
        return (jnp.asarray(r.permutation(cfg["n"])[:steps * BATCH].reshape(steps, BATCH).astype(np.int32)),
                jnp.asarray(r.integers(0, 4, (steps, BATCH)).astype(np.int32)))

    carry = (params, zeros, zeros, jnp.zeros((), jnp.float32))
    carry, losses = epoch(carry, batches(0))
    losses.block_until_ready()
    t0 = time.perf_counter()
    for e in range(cfg["epochs"]):
        carry, losses = epoch(carry, batches(e + 1))
    losses.block_until_ready()
    return {"samples_per_s": cfg["epochs"] * steps * BATCH / (time.perf_counter() - t0), "pipeline": "plain JAX"}


def _child(cfg: dict) -> dict:
    from clusterage_utils.engine.runtime import prepare_environment

    prepare_environment(share_accelerator=cfg.get("share", False))
    from clusterage_utils.engine.runtime import accelerator, backend_name

    out = _engine(cfg) if cfg["kind"] == "engine" else _limit(cfg)
    return {**out, "backend": backend_name() if cfg["kind"] == "engine" else "jax",
            "device": accelerator() or f"CPU x{os.cpu_count()}"}


def _spawn(cfg: dict, k: int = 1) -> list[dict]:
    """Run ``k`` children at once; their results."""
    procs = [subprocess.Popen([sys.executable, __file__, "--child", json.dumps({**cfg, "share": k > 1})],
                              stdout=subprocess.PIPE, text=True) for _ in range(k)]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            raise RuntimeError(f"benchmark child failed: {cfg}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6055, help="training cutouts per epoch (the study's: 6055)")
    ap.add_argument("--n-val", type=int, default=1298, help="validation cutouts per epoch (the study's: 1298)")
    ap.add_argument("--widths", type=float, nargs="+", default=[1 / 16, 1.0])
    ap.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a CPU check of the script: tiny sizes")
    ap.add_argument("--child")
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(json.loads(a.child))))
        return
    if a.quick:
        a.n, a.n_val, a.widths, a.precisions, a.workers, a.epochs = 256, 64, [1 / 16], ["float32"], [1], 1
    from tqdm import tqdm

    from clusterage_utils.book.cost import save_benchmark

    jobs = [(w, p, kind, k) for w in a.widths for p in a.precisions
            for kind, ks in (("limit", [1]), ("engine", a.workers)) for k in ks]
    rows = []
    for w, p, kind, k in tqdm(jobs, desc="gpu benchmark", unit="run"):
        cfg = {"kind": kind, "width": w, "precision": p, "n": a.n, "n_val": a.n_val, "epochs": a.epochs}
        res = _spawn(cfg, k)
        rows.append({"width": w, "precision": p, "kind": kind, "workers": k, "backend": res[0]["backend"],
                     "device": res[0]["device"], "pipeline": res[0]["pipeline"],
                     "samples_per_s": sum(r["samples_per_s"] for r in res),
                     "predict_samples_per_s": sum(r.get("predict_samples_per_s", np.nan) for r in res)})
    import pandas as pd

    df = pd.DataFrame(rows)
    lim = df[df["kind"] == "limit"].set_index(["width", "precision"])["samples_per_s"]
    df["vs_limit"] = [r.samples_per_s / lim.get((r.width, r.precision), np.nan) for r in df.itertuples()]
    save_benchmark("gpu" if not a.quick else "gpu_quick", df, n=a.n, n_val=a.n_val, epochs=a.epochs, batch=BATCH,
                   goal="engine >= 0.5x the plain-JAX limit per device, both widths, over its workers")
    print(df.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
