"""Benchmark: which training recipe makes the narrow CPU networks converge, seed after seed?

Trains candidate recipes (learning rate, schedule, warm-up, minimum epochs before early stopping, epochs, width)
on laptop cases that were unstable under the first laptop recipe, with several seeds each, on the laptop mock
survey, through the same engine and worker pool as the book. Prints, per recipe: runs worse than the null, runs
stuck at the start, runs still improving at the epoch cap (the definitions of :mod:`clusterage_utils.analysis.health`),
the seed range per case (median, 90th percentile, max), the mean test scatter and the seconds per training.

Usage: python benchmarks/bench_recipe.py [--data data/laptop/cutouts.h5] [--seeds 5] [--recipes NAME ...]
[--cases CASE ...] [--name recipe]
(the results stay in --store, so a second run only trains what is new).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from clusterage_utils.analysis.health import case_health, run_flags
from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import case_experiments
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.engine.runtime import prepare_environment

prepare_environment()  # an entry point: before anything imports TensorFlow

CASES = ("five_band_restricted_mask_centre_48", "white_light_full_keep_centre_6", "white_light_full_mask_centre_24",
         "white_light_restricted_none", "five_band_full_none")

BASE = get_profile("laptop").training
#: Before the dense floor and the restarts (the recipes of rounds 1-3 were measured without them).
_BEFORE = dict(min_dense_units=4, collapse_restarts=0)
#: Candidate recipes, as changes to the laptop profile's training settings.
RECIPES = {
    "constant-1e-3-p4-15": dict(**_BEFORE, learning_rate=1e-3, lr_schedule="constant", warmup_epochs=0,
                                min_epochs=0, patience=4, epochs=15, width=1 / 16),
    "constant-3e-4-p10-30": dict(**_BEFORE, learning_rate=3e-4, lr_schedule="constant", warmup_epochs=0,
                                 min_epochs=0, patience=10, epochs=30, width=1 / 16),
    "cosine-1e-3-15": dict(**_BEFORE, learning_rate=1e-3, lr_schedule="cosine", warmup_epochs=1, min_epochs=8,
                           patience=5, epochs=15, width=1 / 16),
    "cosine-1e-3-20": dict(**_BEFORE, learning_rate=1e-3, lr_schedule="cosine", warmup_epochs=1, min_epochs=10,
                           patience=6, epochs=20, width=1 / 16),
    "cosine-2e-3-15": dict(**_BEFORE, learning_rate=2e-3, lr_schedule="cosine", warmup_epochs=2, min_epochs=8,
                           patience=5, epochs=15, width=1 / 16),
    "cosine-3e-3-15": dict(**_BEFORE, learning_rate=3e-3, lr_schedule="cosine", warmup_epochs=2, min_epochs=8,
                           patience=5, epochs=15, width=1 / 16),
    "cosine-3e-3-15-dense32": dict(collapse_restarts=0, min_dense_units=32, learning_rate=3e-3,
                                   lr_schedule="cosine", warmup_epochs=2, min_epochs=8, patience=5, epochs=15,
                                   width=1 / 16),
    "cosine-3e-3-15-dense32-restart": dict(collapse_restarts=1, min_dense_units=32, learning_rate=3e-3,
                                           lr_schedule="cosine", warmup_epochs=2, min_epochs=8, patience=5,
                                           epochs=15, width=1 / 16),
    "cosine-1e-3-15-w8": dict(**_BEFORE, learning_rate=1e-3, lr_schedule="cosine", warmup_epochs=1, min_epochs=8,
                              patience=5, epochs=15, width=1 / 8),
}


def recipe_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per recipe: the health counts, seed ranges, mean scatter and cost."""
    rows = []
    for name, g in scores.groupby("recipe", sort=False):
        flags = run_flags(g)
        cases = case_health(g)
        r = cases["seed_range_dex"]
        rows.append({"recipe": name, "runs": len(g), "worse_than_null": int(flags["worse_than_null"].sum()),
                     "stuck_at_start": int(flags["stuck_at_start"].sum()),
                     "still_improving": int(flags["still_improving"].sum()),
                     "seed_range_median": r.median(), "seed_range_p90": float(np.quantile(r, 0.9)),
                     "seed_range_max": r.max(), "mean_test_scatter": g["test_scatter_dex"].mean(),
                     "mean_test/null": (g["test_scatter_dex"] / g["null_scatter_dex"]).mean(),
                     "s_per_training": g["wall_time_s"].mean(), "mean_epochs": g["epochs_run"].mean()})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/laptop/cutouts.h5")
    ap.add_argument("--store", default="results/bench-recipe")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--name", default="recipe", help="results name under benchmarks/results (default: recipe)")
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` (or `clusterage mock` + `clusterage curate`) first")
    frames = []
    for name in a.recipes:
        training = dataclasses.replace(BASE, seeds=tuple(range(a.seeds)), **RECIPES[name])
        prof = dataclasses.replace(get_profile("laptop"), training=training)
        print(f"recipe {name}: {RECIPES[name]}", flush=True)
        df = run_experiments(case_experiments(a.cases, prof), a.data, a.store)
        frames.append(df.assign(recipe=name))
    scores = pd.concat(frames, ignore_index=True)
    pd.set_option("display.width", 200)
    table = recipe_table(scores)
    print("\nper recipe (runs: cases x seeds; seed range = max - min test scatter of a case, dex)")
    print(table.round(3).to_string(index=False))
    print("\nper case: mean test scatter / seed range (dex)")
    cases = pd.concat([case_health(g).assign(recipe=n) for n, g in scores.groupby("recipe", sort=False)])
    recipes = {n: RECIPES[n] for n in a.recipes}
    save_benchmark(a.name, table.round(4), seeds=a.seeds, cases=list(a.cases), recipes=recipes,
                   data=str(a.data), command="python benchmarks/bench_recipe.py " + " ".join(sys.argv[1:]))
    save_benchmark(f"{a.name}_cases", cases[["recipe", "case", "n_seeds", "test_scatter_mean", "seed_range_dex",
                                          "null_scatter_dex"]].round(4))
    cases["cell"] = (cases["test_scatter_mean"].round(3).astype(str) + " / "
                     + cases["seed_range_dex"].round(3).astype(str))
    print(cases.pivot(index="case", columns="recipe", values="cell").to_string())
    nulls = cases.groupby("case")["null_scatter_dex"].first().round(3)
    print("\nnull predictor (dex):", nulls.to_dict())


if __name__ == "__main__":
    main()
