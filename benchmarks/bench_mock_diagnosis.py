"""Benchmark: which network can calibrate the mock, and where each calibration case's information sits.

Trains the three calibration cases (``calibration.CALIBRATION_CASES``: five bands, full sample - unmasked, mask
12 px, keep 12 px) with the CPU recipe at several widths (``calibration.calibration_settings``) on the profile's
mock survey made with each environment coupling (1: the book's; 0: the environment drawn independently of the
cluster, so whatever the masked network still learns comes from the cluster), through the results store (a rerun
reuses finished trainings). Prints and writes ``benchmarks/results/<out>.{csv,json}``: per coupling, width and case
the mean test scatter over seeds, its seed range, the null, the change from the next narrower width, the wall time
per network. Rows of earlier runs stay in the table unless measured again (one table, built run by run).

Usage: python benchmarks/bench_mock_diagnosis.py [--widths 0.0625 0.25 0.5 1] [--couplings 1 0] [--seeds 0 1]
       [--epochs 15] [--profile laptop] [--data-root DIR] [--store DIR] [--out mock_diagnosis]
"""
from __future__ import annotations

import argparse


def summarise(scores, width: float, coupling: float, epochs: int):
    """One row per case: mean / range of the test scatter over seeds, the null, epochs run and wall time."""
    import pandas as pd

    rows = []
    for case, g in scores.groupby("case", sort=False):
        rows.append({"coupling": coupling, "width": width, "epochs": epochs, "precision": g["precision"].iloc[0]
                     if "precision" in g else "", "case": case, "n_seeds": len(g),
                     "test_scatter_dex": round(float(g["test_scatter_dex"].mean()), 4),
                     "seed_range_dex": round(float(g["test_scatter_dex"].max() - g["test_scatter_dex"].min()), 4),
                     "null_dex": round(float(g["null_scatter_dex"].mean()), 4),
                     "epochs_run": float(g["epochs_run"].mean()),
                     "restarts": int(g["restarts"].sum()) if "restarts" in g else 0,
                     "wall_s_per_network": round(float(g["wall_time_s"].mean()), 1),
                     "n_train": int(g["n_train"].iloc[0])})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=float, nargs="+", default=[1 / 16, 1 / 4, 1 / 2, 1])
    ap.add_argument("--couplings", type=float, nargs="+", default=[1.0, 0.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, nargs="+", default=[15])
    ap.add_argument("--precision", default=None, help="default: calibration_settings' choice per width")
    ap.add_argument("--profile", default="laptop")
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--store", default="results/mock-diagnosis")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", default="mock_diagnosis")
    a = ap.parse_args()

    import pandas as pd

    from clusterage_utils.analysis.calibration import CALIBRATION_CASES, calibration_profile, calibration_settings
    from clusterage_utils.book.cost import benchmark_results, save_benchmark
    from clusterage_utils.engine.execution import run_experiments
    from clusterage_utils.engine.experiments import case_experiments
    from clusterage_utils.engine.profiles import get_profile
    from clusterage_utils.survey.curation import ensure_default_cutouts
    from clusterage_utils.survey.mock import read_manifest

    tables = []
    for c in a.couplings:
        data = ensure_default_cutouts(get_profile(a.profile), root=a.data_root, environment_coupling=c)
        version = read_manifest(data.parent / "mock")["mock_version"]
        for ep in a.epochs:
            for w in a.widths:
                st = calibration_settings(w, epochs=ep, seeds=a.seeds, precision=a.precision)
                exps = case_experiments(CALIBRATION_CASES, calibration_profile(st, a.profile))
                sc = run_experiments(exps, data, a.store, n_workers=a.workers)
                sc["precision"] = st.precision
                t = summarise(sc, w, c, ep)
                t.insert(0, "mock_version", version)
                tables.append(t)
                print(t.drop(columns=["coupling", "epochs"]).to_string(index=False), flush=True)
    df = pd.concat(tables, ignore_index=True)
    previous = benchmark_results(a.out)
    if previous is not None:       # earlier runs' rows stay unless measured again here (one table, many runs)
        keys = ["mock_version", "coupling", "width", "epochs", "case"]
        prev = previous[0].drop(columns=["change_from_narrower_dex"], errors="ignore")
        prev = prev[~prev.set_index(keys).index.isin(df.set_index(keys).index)]
        df = pd.concat([prev, df], ignore_index=True)
    df = df.sort_values(["mock_version", "coupling", "epochs", "case", "width"],
                        ascending=[True, False, True, True, True])
    by = ["mock_version", "coupling", "epochs", "case"]
    df["change_from_narrower_dex"] = df.groupby(by)["test_scatter_dex"].diff().round(4)
    save_benchmark(a.out, df, profile=a.profile, seeds=a.seeds,
                   note="2 training workers on 2 cores shared with other jobs (wall times are contended)")
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
