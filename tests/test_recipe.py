"""The training recipe: learning-rate schedules and early stopping."""
import dataclasses

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
