"""Benchmark: what steadies the networks trained on the small training sets of the near / far groups?

A near or far group holds about a third of the clusters, so with the laptop recipe (15 epochs, a two-epoch warm-up)
its networks get a third of the updates of a full-sample network; in a laptop build one far-group seed of a panel
collapsed to the mean predictor. This trains the distance panels (chapter 6, amortised inner masking) under
candidate settings (:data:`SETTINGS`: more steps per epoch, a lower peak, gradient clipping, re-initialising a
collapsed network, a floor on the dense layers' width, more epochs), same seeds, and prints per setting and group:
runs worse than the null, runs at >= 0.95 x the null, the seed range per diameter, the mean test scatter and the
seconds per training. Writes ``benchmarks/results/<name>.csv``.

Usage: python benchmarks/bench_small_samples.py [--data data/laptop/cutouts.h5] [--store results/laptop]
[--settings NAME ...] [--seeds 5] [--panels five_band] [--name small_samples]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd

from clusterage_utils.analysis.chapters import distance
from clusterage_utils.analysis.chapters.common import PageSettings
from clusterage_utils.analysis.health import sweep_noise
from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.engine.runtime import prepare_environment

prepare_environment()  # an entry point: before anything imports TensorFlow

#: The recipe before the dense floor and the restarts (the laptop recipe of the first laptop builds).
_BEFORE = dict(min_dense_units=4, collapse_restarts=0)
#: Candidate settings for the small training sets, as changes to the laptop profile's training settings.
SETTINGS = {
    "one pass per epoch": _BEFORE,
    ">= 47 steps per epoch": {**_BEFORE, "min_steps_per_epoch": 47},
    "peak 1e-3": {**_BEFORE, "learning_rate": 1e-3},
    "clip gradient norm 1": {**_BEFORE, "clipnorm": 1.0},
    "peak 1e-3, >= 47 steps": {**_BEFORE, "learning_rate": 1e-3, "min_steps_per_epoch": 47},
    "re-initialise collapsed": {**_BEFORE, "collapse_restarts": 1},
    "dense layers >= 32 units": {**_BEFORE, "min_dense_units": 32},
    "dense >= 32, 25 epochs": {**_BEFORE, "min_dense_units": 32, "epochs": 25},
    "laptop recipe (dense >= 32, one restart)": dict(min_dense_units=32, collapse_restarts=1),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/laptop/cutouts.h5")
    ap.add_argument("--store", default="results/laptop", help="results store (the book's: its records are reused)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--panels", nargs="+", default=["five_band"])
    ap.add_argument("--name", default="small_samples", help="results name under benchmarks/results")
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` first")
    base = get_profile("laptop")
    panels = tuple((p, "full") for p in a.panels)
    frames = []
    for label in a.settings:
        training = dataclasses.replace(base.training, **SETTINGS[label], seeds=tuple(range(a.seeds)))
        prof = dataclasses.replace(base, training=training)
        print(f"{label}", flush=True)
        df = run_experiments(distance.experiments(PageSettings(prof), panels=panels), a.data, a.store)
        frames.append(df.assign(setting=label))
    scores = pd.concat(frames, ignore_index=True)
    rows = []
    for (label, group), g in scores.groupby(["setting", "group"], sort=False):
        rows.append({"setting": label, "group": group, **sweep_noise(g)})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    save_benchmark(a.name, table.round(4), settings={k: SETTINGS[k] for k in a.settings}, seeds=a.seeds,
                   panels=list(a.panels), data=str(a.data),
                   command="python benchmarks/bench_small_samples.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
