"""The data-modes page's numbers: read from the calibration benchmark's tables, complete even when unmeasured."""
import math

import pandas as pd


def test_page_numbers_are_complete_with_or_without_the_validation(tmp_path, monkeypatch):
    import clusterage_utils.book.cost as cost
    from clusterage_utils.analysis.calibration import study_table
    from clusterage_utils.book import data_modes

    monkeypatch.setattr(cost, "_results_dir", lambda: tmp_path)
    empty, grid, summary = data_modes.page_numbers("smoke", store=tmp_path / "no-store")
    assert grid.empty and summary.empty and math.isnan(empty["cal_held_out_power_corr"])
    assert data_modes.calibration_note() == ""
    st = study_table().reset_index()
    perfect_mock = st.assign(seed_range_dex=0.0, n_seeds=2)
    cost.save_benchmark("mock_validation", perfect_mock, width=0.25, seeds=[0, 1])
    full, _, summary = data_modes.page_numbers("smoke", store=tmp_path / "no-store")
    assert set(full) == set(empty) and full["cal_held_out_power_corr"] > 0.999 and full["val_seeds"] == 2
    assert full["cal_held_out_agreeing"] == full["cal_held_out_pairs"] > 0
    assert list(summary.index.get_level_values("networks").unique()) == ["calibration network"]
    note = data_modes.calibration_note()
    assert "width 0.25" in note and f"{int(full['cal_held_out_pairs'])} resolved case orderings" in note
    assert isinstance(summary, pd.DataFrame)
