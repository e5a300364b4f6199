"""The training recipe: learning-rate schedules and early stopping."""
import dataclasses

import numpy as np
import pytest

from clusterage_utils.analysis.chapters.common import PageSettings
from clusterage_utils.engine.profiles import TrainingSettings
from clusterage_utils.engine.recipe import callbacks, learning_rate
from clusterage_utils.sweeps import MaskKind, Sweep


def test_constant_rate_is_a_number_and_warmup_ramps():
    st = TrainingSettings(learning_rate=1e-3)
    assert learning_rate(st, 10) == 1e-3
    warm = learning_rate(dataclasses.replace(st, warmup_epochs=2), 10)
    assert float(warm(0)) == pytest.approx(0.0) and float(warm(10)) == pytest.approx(5e-4)
    assert float(warm(20)) == pytest.approx(1e-3) and float(warm(100)) == pytest.approx(1e-3)


def test_cosine_warms_up_then_decays_to_its_floor():
    st = TrainingSettings(learning_rate=1e-3, lr_schedule="cosine", warmup_epochs=1, epochs=11, final_lr_fraction=0.1)
    lr = learning_rate(st, 10)
    values = [float(lr(s)) for s in (0, 5, 10, 60, 110)]
    assert values[0] == pytest.approx(0.0, abs=1e-9) and values[2] == pytest.approx(1e-3, rel=1e-5)
    assert values[1] < values[2] and values[3] < values[2]
    assert values[4] == pytest.approx(1e-4, rel=1e-3)
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        learning_rate(dataclasses.replace(st, lr_schedule="sawtooth"), 10)


def test_early_stopping_waits_for_min_epochs():
    (stop,) = callbacks(TrainingSettings(patience=3, min_epochs=7))
    assert stop.patience == 3 and stop.start_from_epoch == 7 and stop.restore_best_weights


def test_steps_per_epoch_is_one_pass_or_the_minimum():
    from clusterage_utils.engine.recipe import steps_per_epoch

    st = TrainingSettings(batch_size=32, rotations="random")
    assert steps_per_epoch(1478, st) == 47 and steps_per_epoch(459, st) == 15
    assert steps_per_epoch(100, TrainingSettings(batch_size=32, rotations="all")) == 13     # x4 rotations
    small = TrainingSettings(batch_size=32, rotations="random", min_steps_per_epoch=40)
    assert steps_per_epoch(459, small) == 40 and steps_per_epoch(1478, small) == 47
    with pytest.raises(ValueError, match="empty"):
        steps_per_epoch(0, st)


def test_a_minimum_of_steps_keys_results_only_when_set():
    import dataclasses

    from clusterage_utils.engine.experiments import parse_case

    exp = parse_case("five_band_full_none")
    same = dataclasses.replace(exp, training=dataclasses.replace(exp.training, min_steps_per_epoch=0))
    more = dataclasses.replace(exp, training=dataclasses.replace(exp.training, min_steps_per_epoch=40))
    assert same.hash == exp.hash and more.hash != exp.hash


def test_prediction_spread_and_init_seed():
    from clusterage_utils.engine.recipe import init_seed, prediction_spread

    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert prediction_spread(y, y) == 1.0
    assert prediction_spread(np.full(4, 1.5), y) == 0.0
    assert prediction_spread(y / 10, y) == pytest.approx(0.1)
    assert prediction_spread(y, np.ones(4)) == float("inf")            # constant labels: nothing to collapse to
    assert init_seed(2, 0) == 2 and init_seed(2, 1) != 2 and init_seed(2, 1) != init_seed(3, 0)


@pytest.mark.parametrize("field, default, other", [("collapse_restarts", 0, 2), ("min_dense_units", 4, 32),
                                                   ("clipnorm", 0.0, 1.0)])
def test_new_recipe_fields_key_results_only_when_set(field, default, other):
    from clusterage_utils.engine.experiments import parse_case

    exp = parse_case("five_band_full_none")       # default training settings: every field at its default
    same = dataclasses.replace(exp, training=dataclasses.replace(exp.training, **{field: default}))
    more = dataclasses.replace(exp, training=dataclasses.replace(exp.training, **{field: other}))
    assert same.hash == exp.hash and more.hash != exp.hash


def test_an_amortised_model_makes_its_passes_per_epoch():
    from clusterage_utils.engine.recipe import steps_per_epoch

    st = TrainingSettings(batch_size=32, rotations="random", amortised_passes=3)
    assert steps_per_epoch(1478, st) == 47                     # a retrained model: one pass
    assert steps_per_epoch(1478, st, amortised=True) == 3 * 47
    assert steps_per_epoch(1478, TrainingSettings(batch_size=32, rotations="random"), amortised=True) == 47


def test_amortised_passes_key_only_amortised_models():
    from clusterage_utils.engine.experiments import masking_sweep, parse_case
    from clusterage_utils.engine.profiles import get_profile

    def with_passes(e, n):
        return dataclasses.replace(e, training=dataclasses.replace(e.training, amortised_passes=n))

    retrained = parse_case("five_band_full_mask_centre_12")
    assert with_passes(retrained, 3).hash == retrained.hash          # a retrained record stays valid
    (amortised, *_) = masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", get_profile("smoke"),
                                  masking="amortised")
    assert with_passes(amortised, 1).hash == amortised.hash         # the default stays out of the hash
    assert with_passes(amortised, 3).hash != amortised.hash
    assert with_passes(amortised, 3).training_group != amortised.training_group


def test_a_distance_group_sweep_makes_one_pass_per_epoch():
    from clusterage_utils.analysis.chapters.masking import GROUP_AMORTISED_PASSES, sweep_experiments
    from clusterage_utils.engine.profiles import get_profile

    smoke = get_profile("smoke")
    prof = dataclasses.replace(smoke, training=dataclasses.replace(smoke.training, amortised_passes=3))
    full = sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(prof, "amortised"), panels=(("five_band", "full"),),
                             checks=False)
    far = sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(prof, "amortised"), panels=(("five_band", "full"),),
                            group="far")
    assert {e.training.amortised_passes for e in full} == {3}
    assert {e.training.amortised_passes for e in far} == {GROUP_AMORTISED_PASSES}


def test_ensemble_members_have_their_own_seeds_and_one_network_keeps_its_hash():
    from clusterage_utils.engine.experiments import parse_case
    from clusterage_utils.engine.profiles import get_profile
    from clusterage_utils.engine.recipe import init_seed, member_seed

    assert member_seed(3, 0) == 3                                  # one network: the experiment's own seed
    seeds = {member_seed(s, m) for s in range(5) for m in range(3)}
    assert len(seeds) == 15 and not seeds & {init_seed(s, 1) for s in range(5)}
    e = dataclasses.replace(parse_case("five_band_full_none"), training=get_profile("smoke").training)
    one = dataclasses.replace(e, training=dataclasses.replace(e.training, networks_per_seed=1))
    two = dataclasses.replace(e, training=dataclasses.replace(e.training, networks_per_seed=2))
    assert one.hash == e.hash and two.hash != e.hash


def test_an_amortised_model_may_train_to_the_cap():
    from clusterage_utils.engine.experiments import masking_sweep, parse_case
    from clusterage_utils.engine.profiles import get_profile

    st = TrainingSettings(epochs=15, patience=5, min_epochs=8, amortised_to_cap=True)
    (stop,) = callbacks(st, amortised=True)
    assert stop.start_from_epoch == 15                          # early stopping never acts
    assert callbacks(st)[0].start_from_epoch == 8               # a retrained model stops as before
    retrained = parse_case("five_band_full_mask_centre_12")
    to_cap = dataclasses.replace(retrained.training, amortised_to_cap=True)
    assert dataclasses.replace(retrained, training=to_cap).hash == retrained.hash
    (amortised, *_) = masking_sweep(Sweep(MaskKind.MASK_CENTRE), "five_band", "full", get_profile("smoke"),
                                    masking="amortised")

    def to_cap_is(flag):
        return dataclasses.replace(amortised, training=dataclasses.replace(amortised.training, amortised_to_cap=flag))

    assert to_cap_is(True).hash != to_cap_is(False).hash


def test_a_profile_s_group_training_reaches_only_the_distance_groups():
    from clusterage_utils.analysis.chapters.masking import sweep_experiments
    from clusterage_utils.engine.profiles import GROUP_KFOLD, Profile, get_profile

    smoke = get_profile("smoke")
    prof = dataclasses.replace(smoke, group_training=GROUP_KFOLD)
    panel = (("five_band", "full"),)
    whole = sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(prof, "amortised"), panels=panel)
    far = sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(prof, "amortised"), panels=panel, group="far")
    assert {(e.training.folds, e.training.collapse_spread) for e in whole} == {(1, smoke.training.collapse_spread)}
    assert {(e.training.folds, e.training.collapse_spread, e.training.collapse_restarts) for e in far} == {(5, 0.25, 3)}
    assert {e.hash for e in far}.isdisjoint(
        e.hash for e in sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(smoke, "amortised"), panels=panel,
                                          group="far"))
    laptop = get_profile("laptop").group_training
    assert laptop == GROUP_KFOLD
    with pytest.raises(ValueError, match="group_training names no TrainingSettings field: fold"):
        Profile(name="bad", galaxies=smoke.galaxies, fraction=0.05, group_training={"fold": 5})


def test_the_groups_evaluation_is_described_from_their_experiments():
    from clusterage_utils.analysis.chapters import distance
    from clusterage_utils.engine.profiles import GROUP_KFOLD, get_profile

    smoke = get_profile("smoke")
    one = distance.group_evaluation(distance.experiments(PageSettings(smoke)))
    assert one["folds"] == 1 and "one train / validation / test split" in one["evaluation"]
    kfold = distance.group_evaluation(distance.experiments(
        PageSettings(dataclasses.replace(smoke, group_training=GROUP_KFOLD))))
    assert kfold["folds"] == 5 and kfold["collapse_spread"] == 0.25 and kfold["evaluation"].startswith("5-fold")
    with pytest.raises(ValueError, match="share one evaluation"):
        distance.group_evaluation([])


def test_a_profile_s_keep_centre_training_reaches_only_the_amortised_keep_centre_sweep():
    from clusterage_utils.analysis.chapters.masking import sweep_experiments
    from clusterage_utils.engine.profiles import KEEP_CENTRE_EPOCHS, Profile, get_profile

    smoke = get_profile("smoke")
    prof = dataclasses.replace(smoke, keep_centre_training={"epochs": 7})
    panel = (("white_light", "full"),)
    outer = sweep_experiments(MaskKind.KEEP_CENTRE, PageSettings(prof, "amortised"), panels=panel)
    inner = sweep_experiments(MaskKind.MASK_CENTRE, PageSettings(prof, "amortised"), panels=panel)
    amortised = [e for e in outer if e.masking == "amortised"]
    checks = [e for e in outer if e.masking == "retrain"]
    assert amortised and checks
    assert {e.training.epochs for e in amortised} == {7}
    assert {e.training.epochs for e in checks + inner} == {smoke.training.epochs}   # shared with other chapters
    assert get_profile("laptop").keep_centre_training == KEEP_CENTRE_EPOCHS
    with pytest.raises(ValueError, match="keep_centre_training names no TrainingSettings field: epoch"):
        Profile(name="bad", galaxies=smoke.galaxies, fraction=0.05, keep_centre_training={"epoch": 20})


def test_settings_text_lists_a_profile_s_changes():
    from clusterage_utils.engine.profiles import GROUP_KFOLD, settings_text

    assert settings_text(GROUP_KFOLD) == "folds=5, collapse_spread=0.25, collapse_restarts=3"
    assert settings_text({}) == "none"
