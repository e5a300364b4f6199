"""Planning what a book costs (the measured cost of a build is tested with the smoke book, test_build.py)."""


def test_plan_counts_trainings():
    from clusterage_utils.chapters import all_experiments
    from clusterage_utils.chapters.truth_tests import TRUTH_CASES, couplings
    from clusterage_utils.cost import plan

    df = plan("smoke", gpu_speedup=10, n_steps=2)
    assert df["chapter"].iloc[-1] == "total"
    # one training per training group (an amortised model once) on the book's data, plus chapter 7's surveys
    groups = len({e.training_group for e in all_experiments("smoke")})
    assert df["new_trainings"].iloc[-1] == groups + (len(couplings("smoke")) - 1) * len(TRUTH_CASES)
    assert (df["cpu_minutes_max"] >= df["gpu_minutes_max"]).all()
    assert (df["cpu_minutes_max"] >= df["wall_minutes_est"]).all()
    assert set(df.attrs["samples_per_s"]) == {"five_band", "white_light"}


def test_benchmark_results_round_trip(tmp_path, monkeypatch):
    import pandas as pd

    import clusterage_utils.cost as cost

    monkeypatch.setattr(cost, "_results_dir", lambda: tmp_path)
    assert cost.benchmark_results("nothing") is None
    cost.save_benchmark("demo", pd.DataFrame({"a": [1, 2]}), note="test")
    frame, meta = cost.benchmark_results("demo")
    assert list(frame["a"]) == [1, 2] and meta["note"] == "test" and "cores" in meta["machine"]
