"""The compute page's numbers: profiles and the saved benchmark tables, computed, never typed."""
import math

from clusterage_utils import compute_page
from clusterage_utils.profiles import get_profile


def test_profile_numbers_name_what_core_leaves_out():
    numbers, table = compute_page.profile_numbers(get_profile("laptop"))
    assert numbers["profile"] == "laptop" and numbers["width_inv"] == 16 and numbers["n_seeds"] == 3
    assert "chapter 7 couplings: 0.5" in numbers["extensions_note"]
    assert compute_page.profile_numbers(get_profile("paper"))[0]["extensions_note"] == "nothing"
    assert list(table.columns) == ["smoke", "laptop", "paper"]


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
