"""Benchmark: what a mock calibration costs here - training throughput of the study's CNN by width and precision.

Trains ``model.build_cnn`` on random 112 x 112 x C inputs (batch 32, Adam, MSE) in one process with ``--threads``
TensorFlow threads (the pool's workers use 1 each) and reports training samples/s after a warm-up, for each width
and precision. Writes ``benchmarks/results/mock_cost.{csv,json}`` (``cost.save_benchmark``); the calibration's
cost estimates in ``bench_mock_calibration.py`` read it.

Usage: python benchmarks/bench_mock_cost.py [--widths 0.0625 0.125 0.25 0.5 1] [--precisions float32 mixed_bfloat16]
       [--seconds 40] [--threads 1] [--channels 5]
"""
from __future__ import annotations

import argparse
import time


def throughput(width: float, precision: str, channels: int, seconds: float, batch: int = 32) -> dict:
    """Training samples/s of one network: compile and warm up on 3 batches, then train for about ``seconds``."""
    import numpy as np

    from clusterage_utils.engine.model import build_cnn

    rng = np.random.default_rng(0)
    x = rng.random((batch * 8, 112, 112, channels), dtype=np.float32)
    y = rng.random((batch * 8, 1), dtype=np.float32)
    model = build_cnn((112, 112, channels), width=width, learning_rate=1e-4, precision=precision, seed=0,
                      min_dense_units=32)
    model.fit(x[:batch * 3], y[:batch * 3], batch_size=batch, epochs=1, verbose=0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        steps += len(x) // batch
    dt = time.perf_counter() - t0
    return {"width": width, "precision": precision, "channels": channels, "samples": steps * batch,
            "seconds": round(dt, 2), "samples_per_s": round(steps * batch / dt, 2),
            "params": int(model.count_params())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=float, nargs="+", default=[1 / 16, 1 / 8, 1 / 4, 1 / 2, 1])
    ap.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels", type=int, default=5)
    ap.add_argument("--out", default="mock_cost")
    a = ap.parse_args()

    from clusterage_utils.book.cost import save_benchmark
    from clusterage_utils.engine.runtime import prepare_environment, seed_everything

    prepare_environment(a.threads)
    seed_everything(0, threads=a.threads)
    import pandas as pd

    rows = []
    for w in a.widths:
        for p in a.precisions:
            r = throughput(w, p, a.channels, a.seconds)
            r["threads"] = a.threads
            rows.append(r)
            print(f"width {w:.4g} {p:15s} {r['samples_per_s']:8.1f} samples/s ({r['params']:,} parameters)",
                  flush=True)
    save_benchmark(a.out, pd.DataFrame(rows), threads=a.threads, seconds_per_setting=a.seconds,
                   note="one process, batch 32, random inputs; the machine was shared with other jobs")


if __name__ == "__main__":
    main()
