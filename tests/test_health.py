"""Health checks flag what they should, and only that, on hand-made store rows."""
import numpy as np
import pandas as pd
import pytest

from clusterage_utils.analysis.health import (
    STILL_IMPROVING_GAIN,
    exchangeable_seed_ranges,
    health_report,
    health_summary,
    monotonicity_violations,
    page_health,
    run_flags,
    seed_range_floor,
    sweep_noise,
)


def _row(case, seed, scatter, null=1.0, mask="none", diameter=0, inp="white_light", labels="reference",
         stopped=True, best=8, run=12, cap=15, ci=0.03, gain=0.0):
    return {"case": case, "name": f"{case}/seed{seed}", "key": f"{case}-{seed}", "input": inp, "sample": "full",
            "mask": mask, "diameter": diameter, "diameter_unit": "px", "labels": labels, "group": None,
            "masking": "retrain", "seed": seed, "test_scatter_dex": scatter, "test_scatter_ci_lo": scatter - ci,
            "test_scatter_ci_hi": scatter + ci, "null_scatter_dex": null, "train_scatter_dex": scatter,
            "val_scatter_dex": scatter, "n_train": 100, "n_test": 30, "stopped_early": stopped, "best_epoch": best,
            "epochs_run": run, "max_epochs": cap, "late_val_gain": gain}


def _sweep(values_by_diameter, kind="mask_centre"):
    rows = []
    for d, values in values_by_diameter.items():
        mask = "none" if (d == 0 and kind == "mask_centre") else kind
        case = "white_light_full_none" if mask == "none" else f"white_light_full_{kind}_{d}"
        rows += [_row(case, s, v, mask=mask, diameter=d) for s, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_run_flags_find_the_bad_runs_and_only_them():
    df = pd.DataFrame([
        _row("good", 0, 0.5),
        _row("worse", 0, 1.2, ci=0.05),                          # whole interval above the null (1.0)
        _row("near_null", 0, 1.01, ci=0.05),                     # interval reaches the null: not "worse"
        _row("stuck", 0, 0.9, best=2, run=6),                    # early-stopped with its best epoch at 2
        _row("late", 0, 0.6, stopped=False, best=15, run=15, gain=2 * STILL_IMPROVING_GAIN),
        _row("annealed", 0, 0.6, stopped=False, best=15, run=15, gain=STILL_IMPROVING_GAIN / 4),
        _row("control", 0, 1.3, labels="shuffled", ci=0.05),
    ])
    f = run_flags(df).set_index("case")
    assert f["worse_than_null"].tolist() == [False, True, False, False, False, False, True]
    assert f.loc["stuck", "stuck_at_start"] and f["stuck_at_start"].sum() == 1
    assert f.loc["late", "still_improving"] and not f.loc["annealed", "still_improving"]
    assert f.loc["control", "control"] and not f.loc["good", "control"]
    summary = health_summary(health_report(df)).set_index("check")["value"]
    assert summary["worse than the null"] == 1                    # the shuffled control is not counted


def test_monotonicity_violation_consistent_and_noise():
    consistent = _sweep({0: [0.80, 0.82, 0.81], 6: [0.60, 0.61, 0.62], 12: [0.90, 0.91, 0.92]})
    v = monotonicity_violations(health_report(consistent)["cases"], consistent)
    assert len(v) and v["consistent"].all()
    assert set(v["kind"]) == {"mask_centre", "masked_vs_unmasked"}
    assert "white_light_full_mask_centre_6" in set(v["better"])
    noisy = _sweep({0: [0.80, 0.60, 0.70], 6: [0.65, 0.75, 0.55], 12: [0.90, 0.91, 0.92]})
    rep = health_report(noisy)
    assert not monotonicity_violations(rep["cases"], noisy)["consistent"].any()
    clean = _sweep({0: [0.50, 0.51, 0.52], 6: [0.70, 0.71, 0.72], 12: [0.90, 0.91, 0.92]})
    assert monotonicity_violations(health_report(clean)["cases"], clean).empty


def test_outer_masking_violation_is_a_smaller_kept_region_scoring_better():
    df = _sweep({12: [0.40, 0.41, 0.42], 24: [0.70, 0.71, 0.72]}, kind="keep_centre")
    v = monotonicity_violations(health_report(df)["cases"], df)
    assert list(v["kind"]) == ["keep_centre"] and v["better"].iloc[0].endswith("_12")


def test_page_health_numbers_and_seed_range():
    df = _sweep({0: [0.50, 0.55, 0.60], 6: [0.70, 0.71, 0.72]})
    h = page_health(df)
    assert h["runs"] == 6 and h["worse_than_null"] == 0
    assert np.isclose(h["seed_range_max"], 0.10) and h["seed_range_max_case"] == "white_light_full_none"
    assert "converged" in h["verdict"]


def test_a_seed_at_the_null_is_flagged_only_where_another_seed_learnt():
    df = pd.DataFrame([
        _row("learnt", 0, 0.40), _row("learnt", 1, 0.45), _row("learnt", 2, 0.97),     # seed 2 collapsed
        _row("nothing", 0, 0.98), _row("nothing", 1, 1.00), _row("nothing", 2, 0.96),   # no signal: no failure
        _row("control", 0, 0.99, labels="shuffled"), _row("control", 1, 0.50, labels="shuffled"),
    ])
    f = run_flags(df)
    assert f.loc[f["failed_seed"], "name"].tolist() == ["learnt/seed2"]
    health = page_health(df)
    assert health["failed_seeds"] == 1 and "1 training(s) failed" in health["verdict"]
    summary = health_summary(health_report(df)).set_index("check")["value"]
    assert summary["seeds at the null where another learnt"] == 1


def test_restarted_runs_are_counted():
    df = pd.DataFrame([{**_row("a", 0, 0.5), "restarts": 1}, {**_row("a", 1, 0.52), "restarts": 0}, _row("b", 0, 0.6)])
    flags = run_flags(df)
    assert flags["restarted"].tolist() == [True, False, False]         # a record without the field: no restart
    summary = health_summary(health_report(df)).set_index("check")["value"]
    assert summary["re-initialised after a collapse"] == 1


def test_sweep_noise_summarises_a_setting():
    df = _sweep({0: [0.50, 0.55, 0.60], 6: [0.70, 0.71, 1.20]}).assign(wall_time_s=10.0)
    n = sweep_noise(df)
    assert n["runs"] == 6 and n["worse_than_null"] == 1 and n["at_null"] == 1      # the 1.20 run (null 1.0)
    assert np.isclose(n["seed_range_max"], 0.50) and np.isclose(n["seed_range_median"], 0.30)
    assert np.isclose(n["s_per_model"], 20.0)                                     # 60 s over 6 runs / 2 diameters


def test_exchangeable_seed_ranges_are_zero_for_identical_seeds_and_need_two_seeds():
    e = np.abs(np.random.default_rng(0).normal(0, 0.5, 200))
    assert np.all(exchangeable_seed_ranges(np.stack([e, e, e]), draws=50) == 0)
    shuffled = exchangeable_seed_ranges(np.stack([e, e[::-1], np.roll(e, 7)]), draws=200)
    assert shuffled.shape == (200,) and shuffled.max() > 0                # same skill, different clusters right
    with pytest.raises(ValueError, match="at least 2 seeds"):
        exchangeable_seed_ranges(e[None, :])


class _Store:
    """The one method seed_range_floor reads: per-cluster predictions of a record."""

    def __init__(self, preds: dict):
        self.preds = preds

    def predictions(self, key):
        p = self.preds[key]
        return pd.DataFrame({"set": "test", "index": np.arange(len(p)), "pred": p, "label": np.zeros(len(p))})


def test_seed_range_floor_tells_a_worse_seed_from_test_set_noise():
    rng = np.random.default_rng(1)
    same = {f"same-{s}": rng.normal(0, 0.5, 100) for s in range(3)}        # three networks of equal skill
    worse = {f"worse-{s}": rng.normal(0, 0.5, 100) * (2.0 if s == 2 else 1.0) for s in range(3)}
    scores = pd.DataFrame([{"case": c, "seed": s, "key": f"{c}-{s}"} for c in ("same", "worse") for s in range(3)])
    floor = seed_range_floor(_Store({**same, **worse}), scores, draws=400).set_index("case")
    assert floor.loc["worse", "seed_range_p"] < 0.01                      # one seed is twice as wide
    assert floor.loc["same", "seed_range_p"] > 0.05
    assert 0 < floor.loc["same", "seed_range_floor_dex"] < 0.5


def test_health_summary_reports_the_floor_only_with_predictions():
    rng = np.random.default_rng(2)
    scores = _sweep({0: [0.50, 0.52, 0.55], 12: [0.60, 0.61, 0.66]})
    preds = {k: rng.normal(0, 0.4, 30) for k in scores["key"]}
    without = health_summary(health_report(scores))
    with_store = health_summary(health_report(scores, _Store(preds)))
    assert not without["check"].str.contains("beyond that floor").any()
    assert with_store["check"].str.contains("beyond that floor").any()
    page = page_health(scores, _Store(preds))
    assert {"seed_range_floor_p90", "beyond_floor", "beyond_floor_by_chance"} <= set(page)
    assert "beyond_floor" not in page_health(scores)
    one_seed = scores[scores["seed"] == 0]                 # a one-seed profile (smoke): no floor, but every key
    page = page_health(one_seed, _Store(preds))
    assert np.isnan(page["seed_range_floor_p90"]) and page["beyond_floor"] == 0


def test_seed_range_parts_split_the_groups_from_the_rest_and_survive_one_seed():
    from clusterage_utils.analysis.health import seed_range_parts

    cases = pd.DataFrame({"case": ["a", "b", "c"], "n_seeds": [3, 3, 3], "labels": "reference",
                          "group": [None, "near", "far"], "n_test": [300, 80, 90],
                          "seed_range_dex": [0.05, 0.12, 0.10], "seed_range_floor_dex": [0.03, 0.10, 0.09],
                          "seed_range_p": [0.01, 0.40, 0.30]})
    parts = seed_range_parts(cases)
    assert parts["group_n_test"] == "80-90" and parts["group_beyond"] == 0 and parts["rest_beyond"] == 1
    assert parts["group_within_floor"]
    empty = seed_range_parts(cases.assign(n_seeds=1))
    assert np.isnan(empty["group_floor_p90"]) and empty["group_cases"] == 0


def test_study_seed_range_parts_match_each_part_to_its_test_sizes():
    from clusterage_utils.analysis.health import study_seed_range_parts

    cases = pd.DataFrame({"case": ["a", "b", "c"], "n_seeds": [3, 3, 3], "labels": "reference",
                          "group": [None, "near", "far"], "n_test": [600, 60, 70]})
    parts = study_seed_range_parts(cases, draws=20)
    assert parts["group_study_p90"] > parts["rest_study_p90"] > 0
    assert np.isnan(study_seed_range_parts(cases.assign(n_seeds=1), draws=20)["group_study_p90"])
    big = study_seed_range_parts(cases.assign(n_seeds=8, n_test=5000), draws=5)     # a profile beyond the study's
    assert np.isfinite(big["rest_study_p90"])
