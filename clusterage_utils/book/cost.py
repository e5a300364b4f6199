"""What the book costs: an estimate before a build (:func:`plan`) and the measured cost of the last one
(:func:`measured_cost`), per chapter."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..analysis.chapters import NOTEBOOKS, chapter_experiments
from ..analysis.chapters.attribution_maps import attribution_models
from ..analysis.chapters.truth_tests import TRUTH_CASES, couplings
from ..engine.experiments import case_experiments
from ..engine.profiles import get_profile
from ..paths import default_cutouts_path, default_store_path, project_root

__all__ = ["plan", "measured_speed", "measured_cost", "benchmark_results", "benchmark_numbers", "save_benchmark",
           "machine_description"]


def measured_cost(profile: str, store: str | os.PathLike | None = None, build_dir: str | os.PathLike | None = None
                  ) -> pd.DataFrame:
    """What the last build of a profile cost, per chapter, from the store's recorded wall times.

    Each result record is charged to the first chapter that needs it (chapter 7's surveys of other couplings to
    chapter 7; chapter 9's kept model is its own one-seed record). An amortised
    model's training time is shared among the diameters it is evaluated at, so ``training_min`` sums correctly.
    Notebook times come from ``<build>/timings.json``. Returns one row per chapter (result records, training
    minutes, notebook seconds) and a total.
    """
    from ..engine.store import ResultsStore, record_key
    from ..survey.cutouts import open_cutouts

    prof = get_profile(profile)
    store_root = Path(store) if store else default_store_path(profile)
    st = ResultsStore(store_root)
    timings_path = (Path(build_dir) if build_dir else project_root() / "_build") / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    main = default_cutouts_path(profile)
    if not main.exists():
        raise FileNotFoundError(f"{main}: no {profile} build to account for; run `clusterage book --profile "
                                f"{profile}` first")
    main_fp = open_cutouts(main).fingerprint()
    seen: set[str] = set()
    rows = []

    def charge(exps, fp):
        keys = [record_key(e.hash, fp) for e in exps]
        keys = [k for k in dict.fromkeys(keys) if k not in seen and st.has(k)]
        seen.update(keys)
        return len(keys), sum(st.get(k).get("wall_time_s", 0.0) for k in keys)

    for c in NOTEBOOKS:
        n, secs = charge(chapter_experiments(c, prof), main_fp)
        if c.startswith("09"):
            n2, s2 = charge(attribution_models(prof), main_fp)
            n, secs = n + n2, secs + s2
        if c.startswith("07"):
            for cpl in couplings(prof):
                if cpl == 1.0:
                    continue
                path = default_cutouts_path(profile, environment_coupling=cpl)
                if path.exists():
                    n2, s2 = charge(case_experiments(list(TRUTH_CASES), prof), open_cutouts(path).fingerprint())
                    n, secs = n + n2, secs + s2
        rows.append({"chapter": c, "records": n, "training_min": round(secs / 60, 1),
                     "notebook_s": timings.get(c)})
    df = pd.DataFrame(rows)
    total = {"chapter": "total", "records": int(df["records"].sum()),
             "training_min": round(df["training_min"].sum(), 1),
             "notebook_s": round(sum(v for v in df["notebook_s"] if v is not None), 1)}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df.attrs["timings"] = timings
    return df


#: Share of a profile's clusters in a sample or distance group (the mock follows Table 1 and the real age mix).
_SAMPLE_SHARE = {"full": 1.0, "restricted": 0.5, "near": 0.23, "far": 0.3}


def measured_speed(profile: str, measured: str | os.PathLike | None = None, n_train: int = 256) -> dict:
    """Training and prediction speed (samples/s) of a profile's network, five-band and white light.

    Parameters
    ----------
    profile : str
    measured : path-like, optional
        A ``benchmarks/bench_gpu.py`` table (``gpu.csv``) measured on another machine: its engine rows of one
        worker at the profile's width and precision (five-band; white light is taken to cost the same). Default:
        measure here, through the pipeline this process trains with
        (:func:`~clusterage_utils.engine.fitting.measure_throughput`).

    Raises
    ------
    ValueError
        If the table has no engine row for the profile's width and precision.
    """
    t = get_profile(profile).training
    if measured is not None:
        tab = pd.read_csv(measured)
        rows = tab[(tab["kind"] == "engine") & (tab["workers"] == 1) & (abs(tab["width"] - t.width) < 1e-9)
                   & (tab["precision"] == t.precision)]
        if rows.empty:
            raise ValueError(f"{measured}: no engine row for width {t.width:g} and precision {t.precision!r} "
                             f"(profile {profile}); run benchmarks/bench_gpu.py with --widths {t.width:g} "
                             f"--precisions {t.precision}")
        r = rows.iloc[0]
        one = {"train": float(r["samples_per_s"]), "predict": float(r["predict_samples_per_s"]),
               "source": f"{Path(measured).name}: {r['device']}, {r['backend']}"}
        return {"five_band": one, "white_light": one}
    from ..engine.fitting import measure_throughput

    out = {}
    for c, name in ((5, "five_band"), (1, "white_light")):
        r = measure_throughput((112, 112, c), t, n_train=n_train, n_val=n_train // 4, epochs=1)
        out[name] = {"train": r["train_samples_per_s"], "predict": r["predict_samples_per_s"],
                     "source": f"measured here ({r['pipeline']})"}
    return out


def plan(profile: str, measured: str | os.PathLike | None = None, n_train: int = 256) -> pd.DataFrame:
    """Estimate the trainings and time per chapter from measured speeds (:func:`measured_speed`).

    A training (an amortised model counts once, in the first chapter that needs it) is costed at ``epochs x`` its
    steps per epoch (:func:`~clusterage_utils.engine.recipe.steps_per_epoch`) batches, times its ``networks_per_seed``
    and ``folds`` (an upper bound: early stopping usually ends sooner), with ``n_train`` from the profile's
    survey size; each record adds the prediction of its sample. ``wall_minutes_est`` divides by the worker
    processes of a local pool (:func:`~clusterage_utils.engine.execution.default_workers`; one when ``measured`` comes
    from another machine, whose table is per worker).
    """
    from ..engine.execution import default_workers
    from ..engine.recipe import steps_per_epoch
    from ..survey.reference import galaxies

    prof = get_profile(profile)
    speed = measured_speed(profile, measured, n_train)
    workers = 1 if measured is not None else default_workers()[0]
    g = galaxies()
    n_all = sum(round(prof.fraction * g.loc[x, "n_clusters"]) for x in prof.galaxies)

    def sample_size(e) -> float:
        return n_all * _SAMPLE_SHARE[e.sample] * (_SAMPLE_SHARE[e.group] if e.group else 1.0)

    rows = []
    trained: set[str] = set()          # models, by training group: an amortised model is trained once for every
    for c in NOTEBOOKS:                # chapter that evaluates it (chapter 10's parsec sweep: chapter 6's models)
        exps = chapter_experiments(c, prof)
        runs = [e for e in {e.training_group: e for e in exps}.values() if e.training_group not in trained]
        trained |= {e.training_group for e in runs}
        if c.startswith("07"):  # the surveys of other couplings: the same experiments on other data
            runs += [e for cpl in couplings(prof) if cpl != 1.0 for e in case_experiments(list(TRUTH_CASES), prof)]
        secs = 0.0
        for e in runs:
            st = e.training                                  # a distance group's sweep has its own passes
            steps = steps_per_epoch(max(1, round(0.7 * sample_size(e))), st, amortised=e.masking == "amortised")
            secs += max(1, st.networks_per_seed) * st.folds * steps * st.batch_size * st.epochs / \
                speed[e.input]["train"]
        secs += sum(sample_size(e) / speed[e.input]["predict"] for e in exps)
        rows.append({"chapter": c, "new_trainings": len(runs), "records": len(exps),
                     "minutes_max": round(secs / 60, 1), "wall_minutes_est": round(secs / 60 / workers, 1)})
    df = pd.DataFrame(rows)
    total = {"chapter": "total", "new_trainings": int(df["new_trainings"].sum()), "records": int(df["records"].sum()),
             "minutes_max": round(df["minutes_max"].sum(), 1),
             "wall_minutes_est": round(df["wall_minutes_est"].sum(), 1)}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df.attrs["samples_per_s"] = {k: {m: round(v[m]) for m in ("train", "predict")} for k, v in speed.items()}
    df.attrs["speed_source"] = speed["five_band"]["source"]
    return df


def machine_description() -> str:
    """This machine in a few words: CPU model, cores, memory, GPU (for benchmark records)."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024**2:.0f} GB"
    except OSError:
        pass
    from ..engine.execution import has_gpu

    return f"{cpu}, {os.cpu_count()} cores{mem}, {'a GPU' if has_gpu() else 'no GPU'}"


def _results_dir() -> Path:
    from ..paths import source_root

    return source_root() / "benchmarks" / "results"


def save_benchmark(name: str, frame: pd.DataFrame, **meta) -> Path:
    """Write a benchmark's result table to ``benchmarks/results/<name>.csv`` with ``<name>.json`` beside it
    (date, machine, package versions and ``meta``), atomically; the compute page reads them."""
    import datetime as dt

    import numpy as np

    from .._atomic import atomic_path, save_csv
    from ..constants import __version__

    out = _results_dir()
    out.mkdir(parents=True, exist_ok=True)
    save_csv(frame, out / f"{name}.csv")
    info = {"date": dt.date.today().isoformat(), "machine": machine_description(), "clusterage": __version__,
            "numpy": np.__version__, **meta}
    with atomic_path(out / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(info, indent=2, default=str))
    return out / f"{name}.csv"


def benchmark_results(name: str) -> tuple[pd.DataFrame, dict] | None:
    """A benchmark's last saved table and its metadata (:func:`save_benchmark`), or None if it was never run in
    this checkout."""
    d = _results_dir()
    if not (d / f"{name}.csv").exists():
        return None
    meta = json.loads((d / f"{name}.json").read_text()) if (d / f"{name}.json").exists() else {}
    return pd.read_csv(d / f"{name}.csv"), meta


def benchmark_numbers(table: pd.DataFrame, keys: dict[str, tuple], by: tuple[str, ...] = ("setting",)
                      ) -> dict[str, float]:
    """Numbers for a page's prose from a benchmark table: each the mean of one column over the matching rows.

    Parameters
    ----------
    table : pandas.DataFrame
        A benchmark's table (:func:`benchmark_results`); may be empty.
    keys : dict
        ``name -> (*values of the by-columns, column)``, e.g. ``{"range": ("1 pass", "seed_range_p90")}``.
    by : tuple of str
        The columns whose values select the rows (e.g. ``("setting",)`` or ``("panel", "setting")``).

    Returns
    -------
    dict
        ``name -> float``: the mean over the matching rows (over a benchmark's panels, with ``by=("setting",)``),
        NaN where no row matches or the column is missing (a benchmark not run in this checkout).
    """
    out = {}
    for name, (*values, column) in keys.items():
        rows = table
        for col, value in zip(by, values, strict=True):
            rows = rows[rows[col] == value] if col in rows else rows.iloc[:0]
        out[name] = float(rows[column].mean()) if column in rows and len(rows) else float("nan")
    return out
