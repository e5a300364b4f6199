"""The training recipe: learning-rate schedules and early stopping."""
import dataclasses

import numpy as np
import pytest

from clusterage_utils.profiles import TrainingSettings
from clusterage_utils.recipe import callbacks, learning_rate


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
    from clusterage_utils.recipe import steps_per_epoch

    st = TrainingSettings(batch_size=32, rotations="random")
    assert steps_per_epoch(1478, st) == 47 and steps_per_epoch(459, st) == 15
    assert steps_per_epoch(100, TrainingSettings(batch_size=32, rotations="all")) == 13     # x4 rotations
    small = TrainingSettings(batch_size=32, rotations="random", min_steps_per_epoch=40)
    assert steps_per_epoch(459, small) == 40 and steps_per_epoch(1478, small) == 47
    with pytest.raises(ValueError, match="empty"):
        steps_per_epoch(0, st)


def test_a_minimum_of_steps_keys_results_only_when_set():
    import dataclasses

    from clusterage_utils.experiments import parse_case

    exp = parse_case("five_band_full_none")
    same = dataclasses.replace(exp, training=dataclasses.replace(exp.training, min_steps_per_epoch=0))
    more = dataclasses.replace(exp, training=dataclasses.replace(exp.training, min_steps_per_epoch=40))
    assert same.hash == exp.hash and more.hash != exp.hash


def test_prediction_spread_and_init_seed():
    from clusterage_utils.recipe import init_seed, prediction_spread

    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert prediction_spread(y, y) == 1.0
    assert prediction_spread(np.full(4, 1.5), y) == 0.0
    assert prediction_spread(y / 10, y) == pytest.approx(0.1)
    assert prediction_spread(y, np.ones(4)) == float("inf")            # constant labels: nothing to collapse to
    assert init_seed(2, 0) == 2 and init_seed(2, 1) != 2 and init_seed(2, 1) != init_seed(3, 0)


@pytest.mark.parametrize("field, default, other", [("collapse_restarts", 0, 2), ("min_dense_units", 4, 32),
                                                   ("clipnorm", 0.0, 1.0)])
def test_new_recipe_fields_key_results_only_when_set(field, default, other):
    from clusterage_utils.experiments import parse_case

    exp = parse_case("five_band_full_none")       # default training settings: every field at its default
    same = dataclasses.replace(exp, training=dataclasses.replace(exp.training, **{field: default}))
    more = dataclasses.replace(exp, training=dataclasses.replace(exp.training, **{field: other}))
    assert same.hash == exp.hash and more.hash != exp.hash
