"""Benchmark: how much does a score depend on the number of TensorFlow threads it was trained with?

The same experiments (laptop profile, first seed) are trained twice in fresh worker processes: once with one
intra-op thread (what the book's worker pool uses on a CPU) and once with TensorFlow's default (all cores). The
order of floating-point sums differs, so the trained weights - and the scores - differ a little; this measures how
much. Writes ``benchmarks/results/threads.csv`` (the compute page shows it).

Usage: python benchmarks/bench_threads.py [--data data/laptop/cutouts.h5] [--cases CASE ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import pandas as pd

from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import case_experiments
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.engine.runtime import prepare_environment

prepare_environment()  # an entry point: before anything imports TensorFlow

CASES = ("five_band_full_none", "white_light_full_mask_centre_24", "white_light_restricted_none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/laptop/cutouts.h5")
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` first, or pass --data")
    prof = get_profile("laptop")
    prof = dataclasses.replace(prof, training=dataclasses.replace(prof.training, seeds=(0,)))
    exps = case_experiments(a.cases, prof)
    scores = {}
    with tempfile.TemporaryDirectory() as d:
        for label, threads in (("1 thread", 1), ("default threads", None)):
            df = run_experiments(exps, a.data, Path(d) / label.replace(" ", "_"), scheduler="pool", n_workers=1,
                                 threads_per_worker=threads)
            scores[label] = df.set_index("case")["test_scatter_dex"]
    out = pd.DataFrame({"case": list(scores["1 thread"].index), "scatter_1_thread_dex": scores["1 thread"].values,
                        "scatter_default_threads_dex": scores["default threads"].reindex(scores["1 thread"].index)})
    out["abs_diff_dex"] = (out["scatter_1_thread_dex"] - out["scatter_default_threads_dex"]).abs()
    print(out.round(4).to_string(index=False))
    save_benchmark("threads", out.round(4), cases=list(a.cases), data=a.data)


if __name__ == "__main__":
    main()
