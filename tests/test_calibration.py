"""The mock-vs-study comparison: calibration and held-out sets, orderings, predictive power, aperture shares."""
import numpy as np
import pandas as pd
import pytest

from clusterage_utils.analysis.calibration import (
    CALIBRATION_CASES,
    aperture_shares,
    calibration_settings,
    compare_with_study,
    comparison_numbers,
    held_out_cases,
    mock_table,
    ordered_pairs,
    store_table,
    study_table,
)
from clusterage_utils.engine.experiments import Experiment, study_cases
from clusterage_utils.engine.profiles import get_profile


def _as_mock(table: pd.DataFrame) -> pd.DataFrame:
    return table[["scatter_dex", "null_dex", "power_pct"]].assign(seed_range_dex=0.0, n_seeds=2)


def test_sets_split_the_study_configurations():
    assert set(CALIBRATION_CASES) | set(held_out_cases()) == set(study_cases())
    assert len(held_out_cases()) == len(study_cases()) - 3 and not set(CALIBRATION_CASES) & set(held_out_cases())
    assert set(study_table().query("set == 'calibration'").index) == set(CALIBRATION_CASES)


def test_ordered_pairs_leave_out_the_study_ties():
    pairs = ordered_pairs()
    assert len(pairs) == 46                       # of 56 same-sample pairs; the other 10 are within 2 spreads
    st = study_table()
    assert (st.loc[pairs["a"], "sample"].to_numpy() == st.loc[pairs["b"], "sample"].to_numpy()).all()
    assert (pairs["study_diff_dex"] > 0).all()
    tie = {"white_light_restricted_keep_centre_12", "white_light_restricted_mask_centre_12"}
    assert not any({a, b} == tie for a, b in zip(pairs["a"], pairs["b"]))
    assert pairs.groupby("set").size().to_dict() == {"calibration": 3, "held-out": 30, "mixed": 13}


def test_the_study_agrees_with_itself_and_a_swap_is_counted():
    st = study_table()
    cmp = compare_with_study(_as_mock(st))
    summary = cmp["summary"].set_index("set")
    assert summary.loc["all", "pairs_agreeing"] == 46 and summary.loc["all", "power_correlation"] == pytest.approx(1)
    swapped = _as_mock(st)
    a, b = "white_light_full_none", "white_light_full_mask_centre_24"      # 0.794 vs 0.98: resolved
    swapped.loc[[a, b], "scatter_dex"] = swapped.loc[[b, a], "scatter_dex"].to_numpy()
    pairs = compare_with_study(swapped)["pairs"]
    lost = pairs[~pairs["agrees"]]
    assert len(lost) > 0 and lost.apply(lambda r: a in (r.a, r.b) or b in (r.a, r.b), axis=1).all()
    n = comparison_numbers(compare_with_study(swapped))
    assert n["held_out_agreeing"] == 30 - len(lost[lost["set"] == "held-out"])
    assert n["none_mock_dex"] == n["none_study_dex"]


def test_aperture_share_is_the_change_by_12_px_of_the_change_to_24():
    t = pd.DataFrame({"scatter_dex": [0.5, 0.8, 0.9]},
                     index=["white_light_full_none", "white_light_full_mask_centre_12",
                            "white_light_full_mask_centre_24"])
    ap = aperture_shares(t)
    assert len(ap) == 1 and ap["share_by_12px"].iloc[0] == pytest.approx(0.75)


def test_mock_table_keeps_retrained_reference_runs_only():
    rows = pd.DataFrame({"case": ["x", "x", "x_shuffled", "y"], "labels": ["reference", "reference", "shuffled",
                                                                           "reference"],
                         "masking": ["retrain", "retrain", "retrain", "amortised"], "group": [None] * 4,
                         "test_scatter_dex": [0.4, 0.5, 1.0, 0.3], "null_scatter_dex": [1.0] * 4})
    t = mock_table(rows)
    assert list(t.index) == ["x"] and t.at["x", "scatter_dex"] == pytest.approx(0.45)
    assert t.at["x", "seed_range_dex"] == pytest.approx(0.1) and t.at["x", "n_seeds"] == 2
    assert t.at["x", "power_pct"] == pytest.approx(100 * (1 - 0.45**2))
    with pytest.raises(ValueError, match="no retrained reference-label results"):
        mock_table(rows[rows["case"] == "y"])


def test_store_table_names_what_is_missing(tmp_path, smoke_cutouts):
    with pytest.raises(ValueError, match="holds none of the study's configurations"):
        store_table(tmp_path / "store", smoke_cutouts, get_profile("smoke").training)


def test_calibration_settings_share_the_laptop_networks_at_its_width():
    """At width 1/16 the calibration network is the laptop book's (same store keys); wider ones use bfloat16."""
    laptop = get_profile("laptop").training
    assert Experiment(training=calibration_settings(1 / 16)).hash == Experiment(training=laptop).hash
    wide = calibration_settings(0.25, epochs=30)
    assert wide.precision == "mixed_bfloat16" and wide.epochs == 30 and wide.width == 0.25
    assert np.isclose(calibration_settings(0.5, precision="float32").width, 0.5)
