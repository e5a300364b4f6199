"""The compute page's tables and numbers (``book/compute.ipynb``): the profile a book was built with, the benchmark
tables behind its recipe (read from ``benchmarks/results/``), what the build cost and how healthy its trainings are.

Each function returns ``(numbers, table)``: flat numbers for the page's prose (glued) and the table it shows.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..analysis.chapters import all_experiments, leakage, normalisation, truth_tests
from ..analysis.chapters.masking import GROUP_AMORTISED_PASSES
from ..engine.profiles import Profile, profile_table, settings_text
from ..sweeps import MaskKind
from .cost import benchmark_numbers, benchmark_results, measured_cost

__all__ = ["RECIPE_ROUNDS", "profile_numbers", "recipe_rounds", "benchmark_table", "amortised_numbers",
           "fold_numbers", "kfold_numbers", "epoch_numbers", "build_cost", "thread_numbers", "build_health",
           "flagged_runs", "seed_range_numbers", "accelerator_numbers"]

#: The recipe benchmark's rounds (``benchmarks/bench_recipe.py`` result names) and what each tried.
RECIPE_ROUNDS = {"recipe": "unstable cases", "recipe_signal": "cases with most signal",
                 "recipe_check": "check of the chosen step", "recipe_dense": "dense layers >= 32 units"}
#: The distance groups' benchmark settings behind the prose (``bench_amortised.py``).
_ONE, _FIVE = "1 pass, to the cap", "1 pass, to the cap, 5 folds"
_RESTART, _BOTH = "1 pass, to the cap, restart below 0.25", "1 pass, to the cap, restart below 0.25, 5 folds"
_K5 = "1 pass, to the cap, restart below 0.25 (3 restarts), 5 folds"
_K3 = "1 pass, to the cap, restart below 0.25 (3 restarts), 3 folds"
_CAP, _LONGER = "3 passes, to the cap", "3 passes, to the cap, 20 epochs"


def _left_out(profile: Profile) -> str:
    """What the profile's ``extensions="core"`` leaves out of the chapters beyond the study, as text."""
    gave_up = {
        "chapter 7 couplings": set(truth_tests.COUPLINGS) - set(truth_tests.couplings(profile)),
        "chapter 8 cases": set(leakage.SPLIT_CASES) - set(leakage.split_cases(profile)),
        "chapter 13 stretches": set(normalisation.NORMALISATION_VARIANTS)
        - set(normalisation.normalisation_variants(profile)),
        "chapter 13 authors'-code cases": set(normalisation.AUTHORS_CASES) - set(normalisation.authors_cases(profile)),
    }
    return "; ".join(f"{k}: {', '.join(map(str, sorted(v)))}" for k, v in gave_up.items() if v) or "nothing"


def profile_numbers(profile: Profile) -> tuple[dict, pd.DataFrame]:
    """The profile's recipe in numbers (widths, epochs, learning rate, seeds, sweeps, what ``extensions`` leaves
    out) and the profiles side by side (:func:`~clusterage_utils.engine.profiles.profile_table`)."""
    from ..analysis.health import STILL_IMPROVING_GAIN, STUCK_EPOCH
    from ..engine.recipe import COLLAPSE_SPREAD

    t = profile.training
    numbers = {"extensions_note": _left_out(profile), "profile": profile.name, "width_inv": round(1 / t.width),
               "dense_floor": t.min_dense_units, "restarts": t.collapse_restarts, "collapse_spread": COLLAPSE_SPREAD,
               "epochs": t.epochs, "min_epochs": t.min_epochs, "patience": t.patience, "lr": t.learning_rate,
               "schedule": t.lr_schedule, "warmup": t.warmup_epochs, "n_seeds": len(t.seeds),
               "n_diameters": len(t.diameters_px), "max_diameter": max(t.diameters_px),
               "sweep_masking": profile.sweep_masking, "amortised_passes": t.amortised_passes,
               "group_passes": GROUP_AMORTISED_PASSES,
               "to_cap": "until the epoch cap" if t.amortised_to_cap else "with early stopping",
               "stuck_epoch": STUCK_EPOCH, "improving_gain_pct": 100 * STILL_IMPROVING_GAIN}
    return numbers, profile_table().T


def recipe_rounds() -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The recipe benchmark: ``recipe_meta`` (when, where and on what each round was measured), the table per
    round and recipe, and each case's seed range (dex) per recipe; empty where never run in this checkout."""
    tables, cells, notes = [], [], []
    for name, label in RECIPE_ROUNDS.items():
        bench, per_case = benchmark_results(name), benchmark_results(f"{name}_cases")
        if bench is None:
            continue
        table, meta = bench
        tables.append(table.assign(round=label))
        if per_case is not None:
            cells.append(per_case[0].assign(round=label))
        notes.append(f"{label}: {meta.get('date')}, {meta.get('machine')}, {meta.get('seeds')} seeds per case "
                     f"on {', '.join(meta.get('cases', []))}")
    numbers = {"recipe_meta": "; ".join(notes)
               or "not measured in this checkout (run python benchmarks/bench_recipe.py)"}
    recipe = pd.concat(tables, ignore_index=True).set_index(["round", "recipe"]) if tables else pd.DataFrame()
    per_case = (pd.concat(cells).pivot_table(index=["round", "case"], columns="recipe", values="seed_range_dex")
                if cells else pd.DataFrame())
    return numbers, recipe, per_case


def benchmark_table(name: str) -> pd.DataFrame:
    """A benchmark's saved table (empty where never run in this checkout)."""
    result = benchmark_results(name)
    return result[0] if result else pd.DataFrame()


def amortised_numbers() -> tuple[dict, pd.DataFrame]:
    """The amortised-passes benchmark: the five-band panels' scatter and seed range with 1 and 3 passes, and the
    groups' seed range with one network per seed and with two (means over the group panels)."""
    tables = [r[0] for r in map(benchmark_results, ("amortised_passes", "amortised_passes_full",
                                                      "amortised_passes_groups")) if r is not None]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    restricted, full = "five_band/restricted/mask_centre", "five_band/full/mask_centre"
    numbers = benchmark_numbers(table, {
        "am_one_0": (restricted, "1 pass", "amortised_0px"), "am_three_0": (restricted, "3 passes", "amortised_0px"),
        "am_retrained_0": (restricted, "1 pass", "retrained_0px"),
        "am_full_one": (full, "1 pass", "seed_range_median"), "am_full_three": (full, "3 passes", "seed_range_median"),
    }, by=("panel", "setting"))
    groups = table[table["panel"].str.count("/") == 3] if len(table) else table
    numbers |= benchmark_numbers(groups, {"am_group_one": (_ONE, "seed_range_median"),
                                          "am_group_ens": ("1 pass, to the cap, 2 networks", "seed_range_median")})
    return numbers, table.set_index(["panel", "setting"]) if len(table) else table


def fold_numbers(profile: Profile, workers: int) -> tuple[dict, pd.DataFrame]:
    """The K-fold benchmark of the distance groups (means over the four group panels): test sizes, floors and
    seed ranges with and without folds and restarts, their cost per model and, for this profile's group models
    on ``workers`` worker processes, the extra minutes."""
    folds = benchmark_results("amortised_folds_groups")
    table, meta = folds if folds else (pd.DataFrame(), {})
    fold = benchmark_numbers(table, {
        "n_one": (_ONE, "n_test"), "n_five": (_FIVE, "n_test"), "floor_one": (_ONE, "seed_range_floor_p90"),
        "floor_five": (_FIVE, "seed_range_floor_p90"), "range_one": (_ONE, "seed_range_p90"),
        "range_five": (_FIVE, "seed_range_p90"), "range_restart": (_RESTART, "seed_range_p90"),
        "range_both": (_BOTH, "seed_range_p90"), "s_one": (_ONE, "s_per_model"), "s_both": (_BOTH, "s_per_model")})
    group_models = {e.training_group for e in all_experiments(profile) if e.group is not None}
    both = meta.get("settings", {}).get(_BOTH, {})
    numbers = {f"fold_{k}": v for k, v in fold.items()} | {
        "fold_k": both.get("folds", float("nan")), "fold_restart_spread": both.get("collapse_spread", float("nan")),
        "group_training": settings_text(profile.group_training), "fold_cost": fold["s_both"] / fold["s_one"],
        "fold_book_min": len(group_models) * (fold["s_both"] - fold["s_one"]) / workers / 60}
    return numbers, table


def kfold_numbers() -> tuple[dict, pd.DataFrame]:
    """Five folds against three for the distance groups: seed ranges, cost per model, runs worse than the null."""
    k_folds = benchmark_results("amortised_folds_groups_k")
    table = k_folds[0] if k_folds else pd.DataFrame()
    k = benchmark_numbers(table, {"range5": (_K5, "seed_range_p90"), "range3": (_K3, "seed_range_p90"),
                                  "max5": (_K5, "seed_range_max"), "max3": (_K3, "seed_range_max"),
                                  "s5": (_K5, "s_per_model"), "s3": (_K3, "s_per_model")})
    worse3 = int(table.loc[table["setting"] == _K3, "worse_than_null"].sum()) if len(table) else float("nan")
    return {f"k_{n}": v for n, v in k.items()} | {"k_cost": k["s3"] / k["s5"], "k_worse3": worse3}, table


def epoch_numbers(profile: Profile) -> tuple[dict, pd.DataFrame]:
    """Longer training of the amortised keep-centre sweeps: seed ranges, mean scatter, the retrained 24-px check
    against the study's, and the cost per model."""
    from ..survey.reference import study_scatter

    epochs = benchmark_results("amortised_epochs_keep")
    table, meta = epochs if epochs else (pd.DataFrame(), {})
    ep = benchmark_numbers(table, {
        "max_cap": (_CAP, "seed_range_max"), "max_longer": (_LONGER, "seed_range_max"),
        "p90_cap": (_CAP, "seed_range_p90"), "p90_longer": (_LONGER, "seed_range_p90"),
        "mean_cap": (_CAP, "mean_test_scatter"), "mean_longer": (_LONGER, "mean_test_scatter"),
        "check24_cap": (_CAP, "retrained_24px"), "check24_longer": (_LONGER, "retrained_24px"),
        "s_cap": (_CAP, "s_per_model"), "s_longer": (_LONGER, "s_per_model")})
    released = study_scatter().set_index(["input", "sample", "mask", "diameter_px"])
    numbers = {f"ep_{k}": v for k, v in ep.items()} | {
        "ep_cost": ep["s_longer"] / ep["s_cap"], "keep_centre_training": settings_text(profile.keep_centre_training),
        "ep_epochs": meta.get("settings", {}).get(_LONGER, {}).get("epochs", float("nan")),
        "ep_study24": released.loc[("white_light", "full", MaskKind.KEEP_CENTRE.value, 24), "test_scatter_dex_mean"]}
    return numbers, table


def _training_note(seconds: float) -> str:
    if seconds != seconds:
        return "left no timings file"
    if seconds < 10:
        return "retrained nothing: every record was already in the store (a rebuild)"
    return (f"took {seconds / 60:.1f} minutes of wall time on this machine's worker pool, chapter 7's extra surveys "
            f"included")


def build_cost(profile: Profile, store: str | os.PathLike | None, timings: str | os.PathLike
               ) -> tuple[dict, pd.DataFrame]:
    """What this build cost per chapter (:func:`~.cost.measured_cost`), and for prose how long
    its training step took (``train_note``), the store's ``records`` and their ``worker_min``."""
    tim = json.loads(Path(timings).read_text()) if Path(timings).exists() else {}
    try:
        cost = measured_cost(profile.name, store, build_dir=Path(timings).parent if tim else None)
    except FileNotFoundError:
        cost = pd.DataFrame(columns=["chapter", "records", "training_min", "notebook_s"])
    total = cost[cost["chapter"] == "total"]
    seconds = tim.get("trainings", float("nan")) + tim.get("truth_test_surveys_and_trainings", 0.0)
    return {"train_note": _training_note(seconds), "records": int(total["records"].iloc[0]) if len(total) else 0,
            "worker_min": float(total["training_min"].iloc[0]) if len(total) else float("nan")}, cost


def thread_numbers() -> tuple[dict, pd.DataFrame]:
    """How much a score depends on TensorFlow's thread count (``benchmarks/bench_threads.py``)."""
    threads = benchmark_results("threads")
    if threads is None:
        return {"thread_effect": "not measured in this checkout (python benchmarks/bench_training.py)"}, pd.DataFrame()
    table, meta = threads
    d = table["abs_diff_dex"]
    return {"thread_effect": f"{d.min():.3f}-{d.max():.3f} dex (median {d.median():.3f}) over {len(d)} runs, "
                             f"measured on {meta.get('date')}"}, table


def build_health(profile: Profile, data: str | os.PathLike | None, store: str | os.PathLike | None) -> dict:
    """The health report (:func:`~clusterage_utils.analysis.health.health_report`) of every record of the book in the
    store."""
    from ..analysis.health import health_report
    from ..engine.store import ResultsStore, record_key
    from ..paths import default_cutouts_path, default_store_path
    from ..survey.cutouts import open_cutouts

    data_path = Path(data) if data else default_cutouts_path(profile.name)
    st = ResultsStore(store or default_store_path(profile.name, data))
    fp = open_cutouts(data_path).fingerprint()
    keys = [k for k in dict.fromkeys(record_key(e.hash, fp) for e in all_experiments(profile)) if st.has(k)]
    return health_report(st.scores(keys), st)


#: The flags of :func:`~clusterage_utils.analysis.health.run_flags` shown on the page, failures first.
_FLAGS = ["worse_than_null", "stuck_at_start", "failed_seed", "still_improving", "restarted"]


def flagged_runs(report: dict) -> pd.DataFrame:
    """The runs with any flag, failures first, then restarts, then the rest."""
    runs = report["runs"].sort_values(["worse_than_null", "failed_seed", "stuck_at_start", "restarted"],
                                      ascending=False)
    return runs[runs[_FLAGS].any(axis=1)][["name", "test_scatter_dex", "test_scatter_ci_lo", "null_scatter_dex",
                                           "epochs_run", "best_epoch", *_FLAGS, "control"]]


def seed_range_numbers(report: dict) -> tuple[dict, pd.DataFrame]:
    """Seed ranges against their floors, for the distance groups and the other cases, beside the study's own
    seeds on test sets of the same sizes; the 15 cases with the widest ranges."""
    from ..analysis.health import SEED_RANGE_ALPHA, seed_range_parts, study_seed_range_parts

    cases = report["cases"]
    parts = seed_range_parts(cases) | study_seed_range_parts(cases)
    numbers = {k: v for k, v in parts.items() if k != "group_within_floor"} | {
        "n_beyond": parts["group_beyond"] + parts["rest_beyond"],
        "n_multi": parts["group_cases"] + parts["rest_cases"],
        "n_chance": round(parts["group_by_chance"] + parts["rest_by_chance"]), "alpha": SEED_RANGE_ALPHA,
        "group_vs_study": parts["group_range_p90"] / parts["group_study_p90"],
        "rest_vs_study": parts["rest_range_p90"] / parts["rest_study_p90"],
        "group_verdict": "on these test sets the groups' seeds cannot be told from networks of equal skill"
        if parts["group_within_floor"] else "the groups' seeds differ by more than their test sets explain: their "
        "networks, not only their test sets, are noisy"}
    widest = cases.sort_values("seed_range_dex", ascending=False)[
        ["case", "n_seeds", "n_test", "test_scatter_mean", "seed_range_dex", "seed_range_floor_dex", "seed_range_p",
         "null_scatter_dex", "no_detectable_signal"]].head(15)
    return numbers, widest


def accelerator_numbers() -> tuple[dict, pd.DataFrame]:
    """The engine against its plain-JAX limit (``benchmarks/bench_gpu.py``): for prose, where and when it was
    measured (``accel_where``), whether any row came from an accelerator (``accel_measured``) and the engine's
    ratio to the limit there (``accel_ratio``); the table with device, backend and precision per row."""
    result = benchmark_results("gpu")
    if result is None:
        return {"accel_where": "has not been run in this checkout", "accel_measured": "no",
                "accel_ratio": "not measured"}, pd.DataFrame()
    table, meta = result
    on_accel = ~table["device"].astype(str).str.startswith("CPU")
    engine = table[(table["kind"] == "engine") & (table["workers"] == 1)]
    ratios = ", ".join(f"{r.vs_limit:.2f}x at width {r.width:g} ({r.precision}, {r.device})"
                       for r in engine.itertuples())
    return {"accel_where": f"was last run on {meta.get('date')} on {meta.get('machine')}",
            "accel_measured": "yes" if on_accel.any() else "no", "accel_ratio": ratios or "not measured"}, table
