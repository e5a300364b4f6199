"""The compute page's numbers: profiles and the saved benchmark tables, computed, never typed."""
import math

from clusterage_utils.book import compute_page
from clusterage_utils.engine.profiles import get_profile


def test_profile_numbers_name_what_core_leaves_out():
    numbers, table = compute_page.profile_numbers(get_profile("laptop"))
    assert numbers["profile"] == "laptop" and numbers["width_inv"] == 16 and numbers["n_seeds"] == 3
    assert "chapter 7 couplings: 0.5" in numbers["extensions_note"]
    assert compute_page.profile_numbers(get_profile("paper"))[0]["extensions_note"] == "nothing"
    assert list(table.columns) == ["smoke", "laptop", "gpu", "paper"]


def test_benchmark_numbers_come_from_the_saved_tables():
    numbers, recipe, per_case = compute_page.recipe_rounds()
    assert set(recipe.index.get_level_values("round")) <= set(compute_page.RECIPE_ROUNDS.values())
    assert "seeds per case" in numbers["recipe_meta"] and len(per_case)
    amortised, _ = compute_page.amortised_numbers()
    assert amortised["am_three_0"] < amortised["am_one_0"]          # three passes learnt the unmasked cluster
    k, table = compute_page.kfold_numbers()
    assert len(table) and not math.isnan(k["k_cost"])
    epochs, _ = compute_page.epoch_numbers(get_profile("laptop"))
    assert epochs["keep_centre_training"] == "epochs=20" and epochs["ep_epochs"] == 20
    assert compute_page.benchmark_table("no_such_benchmark").empty


def test_accelerator_numbers_say_whether_a_gpu_measured_the_engine(tmp_path, monkeypatch):
    import pandas as pd

    import clusterage_utils.book.compute_page as page
    import clusterage_utils.book.cost as cost

    monkeypatch.setattr(cost, "_results_dir", lambda: tmp_path)
    numbers, table = page.accelerator_numbers()
    assert numbers["accel_measured"] == "no" and table.empty and "not been run" in numbers["accel_where"]
    rows = [{"width": 1.0, "precision": "float32", "kind": k, "workers": 1, "backend": "jax", "device": dev,
             "pipeline": p, "samples_per_s": s, "predict_samples_per_s": 1.0, "vs_limit": s / 100.0}
            for k, dev, p, s in (("limit", "GPU NVIDIA H200", "plain JAX", 100.0),
                                 ("engine", "GPU NVIDIA H200", "resident", 80.0))]
    cost.save_benchmark("gpu", pd.DataFrame(rows))
    numbers, table = page.accelerator_numbers()
    assert numbers["accel_measured"] == "yes"
    assert numbers["accel_ratio"] == "0.80x at width 1 (float32, GPU NVIDIA H200)"
    assert len(table) == 2
