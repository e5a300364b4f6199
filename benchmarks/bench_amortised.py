"""Benchmark: how must an amortised model be trained to match the retrained masking curve?

One amortised model learns every diameter of a sweep grid (10 on the laptop profile). With one pass over the
training set per epoch, like a retrained model, it sees each (cluster, mask) pair about ``epochs / 10`` times; in a
laptop build its inner-masking curve at 0 px sat far above the retrained unmasked network (five-band restricted 0.66
against 0.36 dex): it never learnt to read the cluster it sees unmasked in one draw in ten. This trains the full-
sample amortised sweeps of a few panels under the settings of :data:`SETTINGS` (passes per epoch,
``TrainingSettings.amortised_passes``; training to the epoch cap without early stopping, ``amortised_to_cap``; an
ensemble of networks per seed, ``networks_per_seed``; K-fold evaluation, ``folds``; same seeds, the laptop survey),
next to the retrained check cases of the same panels (0 and 12 px, from the book), and prints per setting: the
amortised scatter at 0 and 12 px against the retrained ones, runs worse than the null, the seed range over the
sweep's diameters and the floor that the test set alone sets under it (``health.seed_range_floor``), the test-set
size and the seconds per model. A panel may name a distance group (``five_band/full/mask_centre/near``: chapter
6's sweeps, which have no retrained checks). Writes ``benchmarks/results/<name>.csv``.

Usage: python benchmarks/bench_amortised.py [--data data/laptop/cutouts.h5] [--store results/laptop]
[--settings NAME ...] [--seeds 3] [--panels five_band/restricted/mask_centre white_light/full/keep_centre]
[--name amortised_passes]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from clusterage_utils.analysis.chapters.common import PageSettings
from clusterage_utils.analysis.chapters.masking import sweep_experiments
from clusterage_utils.analysis.health import seed_range_floor, sweep_noise
from clusterage_utils.book.cost import save_benchmark
from clusterage_utils.engine.execution import run_experiments
from clusterage_utils.engine.experiments import masking_sweep
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.engine.runtime import prepare_environment
from clusterage_utils.engine.store import ResultsStore
from clusterage_utils.sweeps import MaskKind, Sweep

prepare_environment()  # an entry point: before anything imports TensorFlow

#: Candidate ways to train an amortised model, as changes to the laptop profile's training settings.
SETTINGS = {
    "1 pass": dict(amortised_passes=1, amortised_to_cap=False),
    "2 passes": dict(amortised_passes=2, amortised_to_cap=False),
    "3 passes": dict(amortised_passes=3, amortised_to_cap=False),
    "3 passes, to the cap": dict(amortised_passes=3, amortised_to_cap=True),
    "1 pass, to the cap": dict(amortised_passes=1, amortised_to_cap=True),
    "1 pass, to the cap, 2 networks": dict(amortised_passes=1, amortised_to_cap=True, networks_per_seed=2),
    "3 passes, to the cap, 20 epochs": dict(amortised_passes=3, amortised_to_cap=True, epochs=20),
    "1 pass, to the cap, 5 folds": dict(amortised_passes=1, amortised_to_cap=True, folds=5),
    "1 pass, to the cap, restart below 0.25": dict(amortised_passes=1, amortised_to_cap=True, collapse_spread=0.25),
    "1 pass, to the cap, restart below 0.25, 5 folds": dict(amortised_passes=1, amortised_to_cap=True,
                                                           collapse_spread=0.25, folds=5),
    # the laptop profile's distance groups (GROUP_KFOLD), and the same with three folds: cheaper by 2/5
    "1 pass, to the cap, restart below 0.25 (3 restarts), 5 folds": dict(
        amortised_passes=1, amortised_to_cap=True, collapse_spread=0.25, collapse_restarts=3, folds=5),
    "1 pass, to the cap, restart below 0.25 (3 restarts), 3 folds": dict(
        amortised_passes=1, amortised_to_cap=True, collapse_spread=0.25, collapse_restarts=3, folds=3),
}


def _panel_experiments(prof, panel: str):
    """The amortised sweep of one ``input/sample/kind[/group]`` panel and, without a group, its retrained check
    cases."""
    inp, sample, kind, *group = panel.split("/")
    if group:   # the group's sweep at the passes asked for (the chapters give a group GROUP_AMORTISED_PASSES)
        return masking_sweep(Sweep(MaskKind(kind)), inp, sample, prof, masking="amortised", group=group[0])
    return sweep_experiments(MaskKind(kind), PageSettings(prof, "amortised"), panels=((inp, sample),))


def _row(label: str, panel: str, sweep: pd.DataFrame, checks: pd.DataFrame, store: ResultsStore) -> dict:
    mean = sweep.groupby("diameter")["test_scatter_dex"].mean()
    chk = checks.assign(diameter=checks["diameter"].fillna(0)).groupby("diameter")["test_scatter_dex"].mean()
    floor = seed_range_floor(store, sweep)["seed_range_floor_dex"]
    row = {"setting": label, "panel": panel, **sweep_noise(sweep),
           "seed_range_floor_p90": float(np.quantile(floor, 0.9)) if len(floor) else np.nan,
           "n_test": int(sweep["test_n"].median())}
    for d in sorted(chk.index):
        row[f"amortised_{d:g}px"] = mean.get(d, np.nan)
        row[f"retrained_{d:g}px"] = chk[d]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/laptop/cutouts.h5")
    ap.add_argument("--store", default="results/laptop", help="results store (the book's: its records are reused)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--panels", nargs="+", default=["five_band/restricted/mask_centre",
                                                    "white_light/full/keep_centre"])
    ap.add_argument("--name", default="amortised_passes", help="results name under benchmarks/results")
    a = ap.parse_args()
    if not Path(a.data).exists():
        sys.exit(f"{a.data} not found: run `make book` first")
    base = get_profile("laptop")
    rows = []
    for label in a.settings:
        training = dataclasses.replace(base.training, **SETTINGS[label], seeds=tuple(range(a.seeds)))
        prof = dataclasses.replace(base, training=training)
        print(label, flush=True)
        for panel in a.panels:
            df = run_experiments(_panel_experiments(prof, panel), a.data, a.store)
            amortised = df[df["masking"] == "amortised"]
            rows.append(_row(label, panel, amortised, df[df["masking"] != "amortised"], ResultsStore(a.store)))
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    save_benchmark(a.name, table.round(4), settings={k: SETTINGS[k] for k in a.settings}, seeds=a.seeds,
                   panels=list(a.panels), data=str(a.data),
                   command="python benchmarks/bench_amortised.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
