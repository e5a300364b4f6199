"""Benchmark: do the small training sets of the near / far groups need more optimizer steps per epoch?

A near or far group holds about a third of the clusters, so with the laptop recipe (15 epochs, a two-epoch warm-up)
its networks get a third of the updates of a full-sample network; in a laptop build one far-group seed of a panel
collapsed to the mean predictor. This trains the distance panels (chapter 6, amortised inner masking) with the
laptop recipe as it is and with ``min_steps_per_epoch`` set to the full sample's steps per epoch, same seeds, and
prints per setting and group: runs worse than the null, the seed range per diameter, the mean test scatter and the
seconds per training. Writes ``benchmarks/results/small_samples.csv``.

Usage: python benchmarks/bench_small_samples.py [--data data/laptop/cutouts.h5] [--store results/laptop]
[--min-steps 47] [--panels five_band white_light]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from clusterage_utils.chapters import distance
from clusterage_utils.cost import save_benchmark
from clusterage_utils.execution import run_experiments
from clusterage_utils.health import case_health, run_flags
from clusterage_utils.profiles import get_profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/laptop/cutouts.h5")
    ap.add_argument("--store", default="results/laptop", help="results store (the book's: its records are reused)")
    ap.add_argument("--min-steps", type=int, default=47, help="steps per epoch of the full laptop sample")
    ap.add_argument("--panels", nargs="+", default=["five_band", "white_light"])
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` first")
    base = get_profile("laptop")
    panels = tuple((p, "full") for p in a.panels)
    frames = []
    for label, steps in (("one pass per epoch", 0), (f">= {a.min_steps} steps per epoch", a.min_steps)):
        prof = dataclasses.replace(base, training=dataclasses.replace(base.training, min_steps_per_epoch=steps))
        print(f"{label}", flush=True)
        df = run_experiments(distance.experiments(prof, panels=panels), a.data, a.store)
        frames.append(df.assign(setting=label))
    scores = pd.concat(frames, ignore_index=True)
    rows = []
    for (label, group), g in scores.groupby(["setting", "group"], sort=False):
        flags = run_flags(g)
        rng = case_health(g)["seed_range_dex"]
        rows.append({"setting": label, "group": group, "runs": len(g),
                     "worse_than_null": int(flags["worse_than_null"].sum()),
                     "seed_range_median": rng.median(), "seed_range_p90": float(np.quantile(rng, 0.9)),
                     "seed_range_max": rng.max(), "mean_test_scatter": g["test_scatter_dex"].mean(),
                     "null_dex": g["null_scatter_dex"].mean(),
                     "s_per_model": g["wall_time_s"].sum() / (len(g) / g["diameter"].nunique())})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    save_benchmark("small_samples", table.round(4), min_steps=a.min_steps, panels=list(a.panels), data=str(a.data),
                   command="python benchmarks/bench_small_samples.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
