"""The chapters' experiment lists and analyses."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from clusterage_utils.analysis.chapters import (
    NOTEBOOKS,
    all_experiments,
    chapter_experiments,
    chapter_id,
    chapter_notebook,
    page_settings,
)
from clusterage_utils.analysis.chapters.leakage import leakage_table
from clusterage_utils.analysis.chapters.masking import check_cases, sweep_steps
from clusterage_utils.analysis.chapters.truth_tests import truth_verdict, verdict_text
from clusterage_utils.engine.profiles import get_profile
from clusterage_utils.sweeps import MaskKind, Sweep

SMOKE = get_profile("smoke")


def test_truth_verdict_and_leakage_table():
    tests = pd.DataFrame({"coupling": [0.0, 0.0, 1.0, 1.0],
                          "case": ["wl_mask_12", "wl_mask_24_shuffled", "wl_mask_12", "wl_mask_24_shuffled"],
                          "below_null": [False, False, True, False], "diff_dex": [0.01, 0.0, -0.3, 0.0],
                          "ci_lo": [-0.05, -0.05, -0.4, -0.05], "ci_hi": [0.05, 0.05, -0.2, 0.05]})
    assert truth_verdict(tests) == {"coupling0_consistent_with_null": True, "coupling1_below_null": True,
                                    "shuffled_never_below_null": True}
    text = verdict_text(tests)
    assert text["passes"] == "passes" and "-0.300" in text["coupling1"] and "Consistent" in text["coupling0"]
    tests.loc[0, "below_null"] = True                      # a signal where none was planted: the test fails
    assert not truth_verdict(tests)["coupling0_consistent_with_null"]
    assert verdict_text(tests)["passes"] == "does not pass"
    s = pd.DataFrame({"case": ["five_band_full_none"] * 3 + ["white_light_full_mask_centre_24"] * 3,
                      "split": ["random", "spatial", "galaxy"] * 2,
                      "predictive_power_pct": [80.0, 76.0, 60.0, 40.0, 20.0, 10.0]})
    t = leakage_table(s)
    assert t.loc["white_light_full_mask_centre_24", "spatial/random"] == pytest.approx(0.5)
    assert t.loc["five_band_full_none", "galaxy/random"] == pytest.approx(0.75)


def test_chapter_ids_and_names():
    assert chapter_id("03_inner_masking") == "03" and chapter_id("01b") == "01b"
    assert chapter_notebook("01b") == "01b_study_real_data" and chapter_notebook("13") == NOTEBOOKS[-1]
    with pytest.raises(ValueError, match="unknown chapter"):
        chapter_id("99")


def test_chapter_experiment_lists():
    assert chapter_experiments("01", SMOKE) == [] and chapter_experiments("01b", SMOKE) == []
    inner = chapter_experiments("03", SMOKE)                      # smoke: amortised sweeps + retrained checks
    amortised = [e for e in inner if e.masking == "amortised"]
    assert len(amortised) == 4 * 3 and len({e.training_group for e in amortised}) == 4
    checks = [e for e in inner if e.masking == "retrain"]
    assert sorted(e.case for e in checks) == sorted(check_cases(MaskKind.MASK_CENTRE))
    retrained = chapter_experiments("03", page_settings("smoke", masking="retrain", diameters=[0, 8], seeds=[0, 1]))
    assert len(retrained) == 4 * 2 * 2 and all(e.masking == "retrain" for e in retrained)
    outer = chapter_experiments("04", SMOKE)
    assert all(e.mask == "keep_centre" for e in outer) and not any(e.diameter == 0 for e in outer)
    ch10 = chapter_experiments("10", SMOKE)
    pc = [e for e in ch10 if e.diameter_unit == "pc"]
    assert sorted({e.diameter for e in pc}) == [0, 20, 40] and all(e.masking == "amortised" for e in pc)
    # the parsec sweep is evaluated on chapter 6's distance-group models: no model of its own
    assert {e.training_group for e in pc} <= {e.training_group for e in chapter_experiments("06", SMOKE)}
    ch10_px = chapter_experiments("10", page_settings("smoke", diameters=[0, 4]))
    assert {e.training_group for e in ch10_px if e.diameter_unit == "pc"} == \
        {e.training_group for e in ch10_px if e.diameter_unit == "px"}              # a reader's grid: still shared
    assert len(all_experiments(SMOKE)) < sum(len(chapter_experiments(c, SMOKE)) for c in NOTEBOOKS)


def test_seeds_and_sweep_grid_do_not_change_other_experiments():
    """Adding a seed or a diameter to a profile retrains only what is new."""
    base = {e.hash for e in chapter_experiments("05", SMOKE)}
    more = {e.hash for e in chapter_experiments("05", page_settings("smoke", seeds=[0, 1]))}
    assert base < more
    a = {e.hash for e in chapter_experiments("03", page_settings("smoke", masking="retrain", diameters=[0, 12]))}
    b = {e.hash for e in chapter_experiments("03", page_settings("smoke", masking="retrain", diameters=[0, 12, 24]))}
    assert a < b


def test_sweep_steps_measure_the_aperture_share():
    s = pd.DataFrame({"input": "five_band", "sample": "full", "labels": "reference",
                      "mask": ["none", "mask_centre", "mask_centre", "mask_centre"], "diameter": [0, 4, 8, 24],
                      "test_scatter_mean": [0.4, 0.6, 0.8, 1.0], "null_scatter_dex": 1.2})
    r = sweep_steps(s, Sweep(MaskKind.MASK_CENTRE)).iloc[0]
    assert r["aperture_diameter"] == 8 and r["share_by_aperture"] == pytest.approx(2 / 3)
    assert np.isclose(r["change_beyond_aperture_dex"], 0.2)


def test_core_extensions_train_a_subset_that_still_answers_each_question():
    import dataclasses

    import pytest

    from clusterage_utils.analysis.chapters import chapter_experiments, leakage, normalisation, truth_tests
    from clusterage_utils.analysis.chapters.common import unique
    from clusterage_utils.engine.profiles import get_profile

    core = get_profile("laptop")
    full = dataclasses.replace(core, extensions="full")
    assert core.extensions == "core" and get_profile("paper").extensions == "full"
    assert truth_tests.couplings(core) == (0.0, 1.0) and truth_tests.couplings(full) == truth_tests.COUPLINGS
    assert leakage.split_cases(core) == (leakage.ENVIRONMENT_CASE,)
    assert leakage.split_cases(full) == leakage.SPLIT_CASES
    assert "instance" in normalisation.normalisation_variants(core)
    assert set(normalisation.normalisation_variants(core)) < set(normalisation.normalisation_variants(full))
    cases = normalisation.authors_cases(core)
    assert set(cases) < set(normalisation.AUTHORS_CASES)
    assert any("mask_centre" in c for c in cases) and any("keep_centre" in c for c in cases)
    for chapter, fewer in (("08_leakage_splits", 3 * 3), ("13_normalisation", 3 * (1 + 2 * 2))):
        n_core = len(unique(chapter_experiments(chapter, core)))
        assert len(unique(chapter_experiments(chapter, full))) - n_core == fewer
    with pytest.raises(ValueError, match="extensions"):
        dataclasses.replace(core, extensions="some")


def test_pc_to_px_table_says_how_much_of_a_group_the_pixel_grid_covers():
    from types import SimpleNamespace

    from clusterage_utils.analysis.chapters.physical_masks import pc_to_px_table

    cat = pd.DataFrame({"distance_group": ["near", "near", "far", "far"], "pc_per_px": [1.0, 2.0, 4.0, 4.0]})
    data = SimpleNamespace(catalogue=cat, shape=(5, 112, 112))
    smoke = SimpleNamespace(settings=page_settings("smoke", diameters_pc=[0, 40]), profile=SMOKE, data=data)
    t = pc_to_px_table(smoke)                                          # the smoke networks' grid: 0-24 px
    assert t.loc["far", "40 pc"] == 10.0 and t.loc["far", "in_pixel_grid_pct"] == 100.0
    assert t.loc["near", "in_pixel_grid_pct"] == 50.0              # 40 px at 1 pc/px: wider than the grid's 24
    retrained = SimpleNamespace(settings=page_settings("smoke", diameters_pc=[0, 40], masking="retrain"),
                                profile=SMOKE, data=data)
    assert "in_pixel_grid_pct" not in pc_to_px_table(retrained)


#: Store keys computed on main before the sweep object and the page settings existed (profile, chapter, name,
#: hash, training group): a refactoring that changes one of them would orphan every stored record.
PINNED_KEYS = (
    ("laptop", "03", "five_band_full_mask_centre_8_amortised/seed1", "8c2b4d7f053e46c2", "324c837b79c2efe1"),
    ("laptop", "03", "five_band_full_none/seed0", "355a00cae802d1e3", "355a00cae802d1e3"),
    ("laptop", "03", "white_light_full_mask_centre_24/seed2", "f227362936aa8e86", "f227362936aa8e86"),
    ("laptop", "04", "white_light_full_keep_centre_12_amortised/seed0", "a11f0b710f11114e", "f745a3366d4758d5"),
    ("laptop", "06", "five_band_full_mask_centre_16_near_amortised/seed2", "266ba9a0111f5405", "bf718495ae85ed5b"),
    ("laptop", "10", "five_band_full_mask_centre_30pc_far_amortised/seed0", "239e92f881760d68", "a88ed8d67671a834"),
    ("laptop", "13", "white_light_full_mask_centre_24_norm-authors_masks-authors/seed1", "b3258b0227807315",
     "b3258b0227807315"),
    ("paper", "03", "white_light_restricted_mask_centre_40/seed4", "ea5f443d78a993f9", "ea5f443d78a993f9"),
    ("smoke", "08", "white_light_full_mask_centre_24_split-galaxy/seed0", "469bee81f7ac26f3", "469bee81f7ac26f3"),
)


@pytest.mark.parametrize("profile, chapter, name, key, group", PINNED_KEYS)
def test_store_keys_stay_what_main_computed(profile, chapter, name, key, group):
    exp = {e.name: e for e in chapter_experiments(chapter, get_profile(profile))}[name]
    assert (exp.hash, exp.training_group) == (key, group)


def test_a_readers_diameters_on_the_grid_retrain_nothing():
    """``clusterage book --chapter 03 -p diameters='[0, 2, 4, 8]'`` on the laptop profile evaluates the trained
    amortised networks at those diameters: no network the default page has not trained."""
    laptop = get_profile("laptop")
    default = chapter_experiments("03", laptop)
    chosen = chapter_experiments("03", page_settings(laptop, diameters=[0, 2, 4, 8]))
    assert {e.training_group for e in chosen} <= {e.training_group for e in default}
    assert {e.hash for e in chosen} <= {e.hash for e in default}            # every record is already there
    assert sorted({e.diameter for e in chosen if e.masking == "amortised"}) == [0, 2, 4, 8]
    assert all(e.grid == laptop.training.diameters_px for e in chosen)
    # a profile's own grid still changes the amortised networks (they are trained on it)
    other = page_settings(dataclasses.replace(laptop, training=dataclasses.replace(laptop.training,
                                                                                  diameters_px=(0, 2, 4, 8))))
    assert not {e.training_group for e in chapter_experiments("03", other) if e.masking == "amortised"} & \
        {e.training_group for e in default}


def test_page_settings_bind_the_method_once():
    assert page_settings("laptop").masking == "amortised" and page_settings("paper").masking == "retrain"
    s = page_settings("laptop", seeds=[4], masking="retrain", diameters=[0, 8])
    assert s.profile.training.seeds == (4,) and not s.amortised
    assert s.sweep(MaskKind.KEEP_CENTRE) == Sweep(MaskKind.KEEP_CENTRE, (0, 8))
    assert s.sweep(MaskKind.MASK_CENTRE, "pc").diameters == get_profile("laptop").training.diameters_pc
    with pytest.raises(ValueError, match="masking must be one of"):
        page_settings("laptop", masking="guess")
    with pytest.raises(ValueError, match="unknown profile"):
        page_settings("desktop")


def test_numbers_for_prose_say_what_they_count():
    from clusterage_utils.analysis.chapters import disagreements, leakage, masking, significance, truth_tests
    from clusterage_utils.constants import APERTURE_DIAMETER_PX

    settings = page_settings("smoke")
    exps = masking.inner_experiments(settings)
    summary = pd.DataFrame({"masking": ["amortised", "amortised", "retrain"], "diameter": [0.0, 12.0, 0.0]})
    result = masking.SweepResult(settings.sweep(MaskKind.MASK_CENTRE), settings, exps, pd.DataFrame(index=exps),
                                 summary)
    n = result.numbers()
    assert n["n_evaluations"] == len(exps) and n["aperture_px"] == APERTURE_DIAMETER_PX
    assert n["n_networks"] == len({e.training_group for e in exps}) < len(exps)     # amortised: one per panel
    assert n["n_diameters"] == 2 and result.diameters == [0.0, 12.0]
    steps = pd.DataFrame({"input": ["five_band"], "sample": ["full"], "first_dex": [0.4], "aperture_dex": [0.8],
                          "last_dex": [1.0], "last_diameter": [24.0], "null_dex": [1.2], "share_by_aperture": [0.5]})
    assert masking.step_numbers(steps) == {"five_band_full_first": 0.4, "five_band_full_aperture": 0.8,
                                           "five_band_full_last": 1.0, "five_band_full_last_d": 24,
                                           "five_band_full_null": 1.2, "five_band_full_share": 50.0}
    assert masking.comparison_numbers(pd.DataFrame())["cmp_panels"] == 0
    cmp = pd.DataFrame({"input": ["white_light"], "sample": ["full"], "mean_abs_diff_dex": [0.02],
                        "max_abs_diff_dex": [0.05], "agrees": [True], "worst_diameter": [8.0],
                        "worst_diff_dex": [-0.05]})
    assert masking.comparison_numbers(cmp)["cmp_worst"] == \
        "white light, full sample, at 8 px: the amortised network better by 0.050 dex"
    contrast = pd.DataFrame({"diameter": [0, 2], "environment_median": [0.1, 0.3]})
    assert masking.contrast_numbers(contrast) == pytest.approx({"env_contrast_unmasked": 0.1,
                                                                "env_contrast_gain": 3.0, "env_contrast_first_d": 2})
    rec = pd.DataFrame({"true_log_age_bin": ["6-7", "7-8"], "cnn_ci_hi": [0.1, 0.5], "reference_ci_lo": [0.2, 0.1],
                        "reference_ci_hi": [0.3, 0.2], "cnn_ci_lo": [0.05, 0.4]})
    assert truth_tests.recovery_numbers(rec) == {"cnn_better_bins": "6-7", "reference_better_bins": "7-8"}
    table = pd.DataFrame({"spatial/random": [0.5], "galaxy/random": [0.25]}, index=[leakage.ENVIRONMENT_CASE])
    split = pd.DataFrame({"split": ["random", "spatial"], "test_overlap_frac": [0.3, 0.0]})
    assert leakage.leakage_numbers(table, split) == pytest.approx({"overlap_random": 30.0, "env_spatial": 50.0,
                                                                  "env_galaxy": 25.0, "env_leaked": 50.0})
    flagged = pd.DataFrame({"closer_to_truth": ["cnn", "reference"]})
    flagged.attrs.update(n_test=40, sigma_dex=0.3, n_seeds=1)
    real = pd.DataFrame(index=range(5))
    real.attrs["n_test"] = 900
    d = disagreements.disagreement_numbers(flagged, real, 3.0)
    assert d["cnn_right_pct"] == 50.0 and d["n_sigma_text"] == "3" and d["real_flagged"] == 5
    mock = pd.DataFrame({"significant": [True, False]})
    both = pd.DataFrame({"real_verdict": ["A better", None], "agree": [True, None]})
    assert significance.agreement_numbers(mock, mock, both, 0.95) == {
        "level_pct": 95, "n_pairs": 2, "n_sig_mock": 1, "n_real": 1, "n_sig_real": 1, "n_agree": 1}
    cat = pd.DataFrame({"distance_group": ["near", "near", "far"], "galaxy_id": ["IC_5332", "NGC_628C", "NGC_1566"],
                        "log_age": [7.0, 8.0, 9.0], "pc_per_px": [1.0, 1.0, 3.0]})
    from clusterage_utils.analysis.chapters import distance

    groups, numbers = distance.group_table(cat)
    assert numbers["near_galaxies"] == "IC 5332, NGC 628C" and numbers["far_pc_per_px"] == 3.0
    assert groups.loc["near", "N"] == 2


def test_a_profile_name_below_the_entry_points_is_refused():
    with pytest.raises(TypeError, match=r"get_profile\('smoke'\)"):
        chapter_experiments("03", "smoke")
