"""Benchmark: does reduced precision (or XLA) change the scores, and what does it save?

Trains one case with the profile's settings in float32 and with each variant, for the same seeds, through the
results store (a rerun reuses finished trainings), and prints per seed the test scatter and the wall time, then
the mean scatter difference against the seed spread of float32 (the issue's criterion: |difference| within the
spread) and the speed-up.

Usage: python benchmarks/bench_precision.py [--profile laptop] [--case five_band_full_none]
       [--variants mixed_bfloat16] [--seeds 0 1] [--data FILE.h5] [--store DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="laptop")
    ap.add_argument("--case", default="five_band_full_none")
    ap.add_argument("--variants", nargs="+", default=["mixed_bfloat16"],
                    help="precision names, or 'xla' for float32 with jit_compile")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--data", default=None, help="cutout file (default: the profile's mock survey)")
    ap.add_argument("--store", default="results/bench-precision")
    a = ap.parse_args()

    from clusterage_utils.engine.execution import run_experiments
    from clusterage_utils.engine.experiments import parse_case
    from clusterage_utils.engine.profiles import get_profile
    from clusterage_utils.survey.curation import ensure_default_cutouts

    prof = get_profile(a.profile)
    data = Path(a.data) if a.data else ensure_default_cutouts(get_profile(a.profile), root="data")
    if not data.exists():
        sys.exit(f"{data} not found: pass --data or run `make book` first")
    base = dataclasses.replace(prof.training, seeds=tuple(a.seeds))
    settings = {"float32": base}
    for v in a.variants:
        settings[v] = dataclasses.replace(base, jit_compile=True) if v == "xla" else \
            dataclasses.replace(base, precision=v)
    rows = {}
    for name, st in settings.items():
        exps = [dataclasses.replace(parse_case(a.case), training=st, seed=s) for s in a.seeds]
        df = run_experiments(exps, data, a.store, progress=True)
        rows[name] = df
        for r in df.itertuples():
            print(f"{name:16s} seed {r.seed}: test scatter {r.test_scatter_dex:.3f} dex "
                  f"(null {r.null_scatter_dex:.3f}), {r.epochs_run} epochs, {r.wall_time_s:.1f} s", flush=True)
    ref = rows["float32"]
    spread = float(np.std(ref["test_scatter_dex"], ddof=1)) if len(ref) > 1 else float("nan")
    print(f"\n{a.case}, profile {a.profile}, seeds {a.seeds}; float32 seed spread (std) {spread:.3f} dex")
    for name, df in rows.items():
        if name == "float32":
            continue
        diff = float(df["test_scatter_dex"].mean() - ref["test_scatter_dex"].mean())
        speed = float(ref["wall_time_s"].sum() / df["wall_time_s"].sum())
        per_epoch = float((ref["wall_time_s"] / ref["epochs_run"]).mean()
                          / (df["wall_time_s"] / df["epochs_run"]).mean())
        verdict = "within" if abs(diff) <= spread else "OUTSIDE"
        print(f"{name:16s} mean scatter difference {diff:+.3f} dex ({verdict} the seed spread), "
              f"wall-time speed-up x{speed:.2f}, per epoch x{per_epoch:.2f}")


if __name__ == "__main__":
    main()
