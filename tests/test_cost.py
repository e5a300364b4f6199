"""Planning what a book costs (the measured cost of a build is tested with the smoke book, test_build.py)."""


def test_plan_counts_trainings():
    from clusterage_utils.analysis.chapters import all_experiments
    from clusterage_utils.analysis.chapters.truth_tests import TRUTH_CASES, couplings
    from clusterage_utils.book.cost import plan
    from clusterage_utils.engine.profiles import get_profile

    smoke = get_profile("smoke")
    df = plan("smoke", n_train=64)
    assert df["chapter"].iloc[-1] == "total"
    # one training per training group (an amortised model once) on the book's data, plus chapter 7's surveys
    groups = len({e.training_group for e in all_experiments(smoke)})
    assert df["new_trainings"].iloc[-1] == groups + (len(couplings(smoke)) - 1) * len(TRUTH_CASES)
    assert (df["minutes_max"] >= df["wall_minutes_est"]).all() and df["minutes_max"].iloc[-1] > 0
    assert set(df.attrs["samples_per_s"]) == {"five_band", "white_light"}
    assert df.attrs["speed_source"].startswith("measured here")


def test_plan_from_a_gpu_benchmark_table_scales_with_its_speed(tmp_path):
    import pandas as pd
    import pytest

    from clusterage_utils.book.cost import plan
    from clusterage_utils.engine.profiles import get_profile

    t = get_profile("gpu").training
    row = {"width": t.width, "precision": t.precision, "kind": "engine", "workers": 1, "backend": "jax",
           "device": "GPU test", "pipeline": "resident", "samples_per_s": 1000.0, "predict_samples_per_s": 4000.0}
    pd.DataFrame([row]).to_csv(tmp_path / "gpu.csv", index=False)
    slow = plan("gpu", measured=tmp_path / "gpu.csv")
    pd.DataFrame([{**row, "samples_per_s": 2000.0, "predict_samples_per_s": 8000.0}]).to_csv(tmp_path / "gpu.csv",
                                                                                          index=False)
    fast = plan("gpu", measured=tmp_path / "gpu.csv")
    assert fast["minutes_max"].iloc[-1] == pytest.approx(slow["minutes_max"].iloc[-1] / 2, rel=0.01)
    assert "GPU test, jax" in fast.attrs["speed_source"]
    with pytest.raises(ValueError, match="no engine row for width 1"):
        pd.DataFrame([{**row, "precision": "float32"}]).to_csv(tmp_path / "gpu.csv", index=False)
        plan("gpu", measured=tmp_path / "gpu.csv")


def test_benchmark_results_round_trip(tmp_path, monkeypatch):
    import pandas as pd

    import clusterage_utils.book.cost as cost

    monkeypatch.setattr(cost, "_results_dir", lambda: tmp_path)
    assert cost.benchmark_results("nothing") is None
    cost.save_benchmark("demo", pd.DataFrame({"a": [1, 2]}), note="test")
    frame, meta = cost.benchmark_results("demo")
    assert list(frame["a"]) == [1, 2] and meta["note"] == "test" and "cores" in meta["machine"]


def test_benchmark_numbers_average_the_matching_rows_and_read_nan_for_what_is_missing():
    import numpy as np
    import pandas as pd

    from clusterage_utils.book.cost import benchmark_numbers

    table = pd.DataFrame({"setting": ["a", "a", "b"], "panel": ["p", "q", "p"], "x": [1.0, 3.0, 5.0]})
    got = benchmark_numbers(table, {"a": ("a", "x"), "b": ("b", "x"), "none": ("c", "x"), "col": ("a", "y")})
    assert got["a"] == 2.0 and got["b"] == 5.0 and np.isnan(got["none"]) and np.isnan(got["col"])
    assert benchmark_numbers(table, {"aq": ("q", "a", "x")}, by=("panel", "setting")) == {"aq": 3.0}
    assert np.isnan(benchmark_numbers(pd.DataFrame(), {"a": ("a", "x")})["a"])
