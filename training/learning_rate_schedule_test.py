"""The optimizer and its step decay, beyond the decay steps of models/trainer_test.py."""

import keras
import pytest

from training.learning_rate_schedule import learning_rate_schedule, make_optimizer, steps_per_epoch
from sicot.config import load_config


def _config(*overrides):
    return load_config(None, ["train.learning_rate=0.1", "train.lr_decay_gamma=0.5", *overrides])


def _rate_at(optimizer, step: int) -> float:
    """The learning rate the optimizer applies at its step-th update."""
    optimizer.iterations.assign(step)
    return float(optimizer.learning_rate)


def test_sgd_gets_the_configured_momentum_and_the_step_decay():
    optimizer = make_optimizer(_config("train.optimizer=sgd", "train.momentum=0.7", "train.lr_decay_epochs=1"), 10)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == pytest.approx(0.7)
    assert [_rate_at(optimizer, s) for s in (0, 9, 10, 25)] == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_adam_follows_the_same_schedule():
    optimizer = make_optimizer(_config("train.optimizer=adam", "train.lr_decay_epochs=2"), 5, start_epoch=4)
    assert isinstance(optimizer, keras.optimizers.Adam)
    # Two decays (epochs 2 and 4) carried, then one more every 2 * 5 steps.
    assert [_rate_at(optimizer, s) for s in (0, 9, 10)] == pytest.approx([0.025, 0.025, 0.0125])


def test_row_sparse_updates_pick_the_row_sparse_sgd_and_only_for_sgd():
    from training.row_sparse_sgd import RowSparseSGD

    assert type(make_optimizer(_config(), 10)) is keras.optimizers.SGD
    optimizer = make_optimizer(_config("train.row_sparse_updates=true", "train.momentum=0.7"), 10)
    assert isinstance(optimizer, RowSparseSGD) and optimizer.momentum == pytest.approx(0.7)
    with pytest.raises(ValueError, match="row_sparse_updates is an option of train.optimizer sgd, not 'adam'"):
        make_optimizer(_config("train.optimizer=adam", "train.row_sparse_updates=true"), 10)


def test_unknown_optimizer_names_the_known_ones():
    with pytest.raises(ValueError, match=r"^unknown train.optimizer 'Adam' \(known: sgd, adam\)$"):
        make_optimizer(_config("train.optimizer=Adam"), 10)


def test_schedule_is_staircase_and_never_decays_within_a_decay_period():
    schedule = learning_rate_schedule(_config("train.lr_decay_epochs=3"), steps_per_epoch=4)
    values = [float(schedule(s)) for s in range(0, 25)]
    assert values[:12] == pytest.approx([0.1] * 12)
    assert values[12:24] == pytest.approx([0.05] * 12)
    assert values[24] == pytest.approx(0.025)


def test_only_whole_decay_periods_before_the_start_epoch_are_carried():
    config = _config("train.lr_decay_epochs=4")
    assert float(learning_rate_schedule(config, 10, start_epoch=3)(0)) == pytest.approx(0.1)
    assert float(learning_rate_schedule(config, 10, start_epoch=4)(0)) == pytest.approx(0.05)
    assert float(learning_rate_schedule(config, 10, start_epoch=9)(0)) == pytest.approx(0.025)


def test_gamma_one_keeps_the_learning_rate_constant():
    schedule = learning_rate_schedule(_config("train.lr_decay_gamma=1.0", "train.lr_decay_epochs=1"), 2, start_epoch=5)
    assert [float(schedule(s)) for s in (0, 2, 100)] == pytest.approx([0.1, 0.1, 0.1])


def test_steps_per_epoch_rounds_up_and_is_at_least_one():
    config = load_config(None, ["train.batch_size=32"])
    assert steps_per_epoch(config, 64) == 2
    assert steps_per_epoch(config, 65) == 3
    assert steps_per_epoch(config, 1) == 1
    assert steps_per_epoch(config, 0) == 1  # an empty split still gives one step


def test_a_phase_starting_mid_period_decays_at_the_same_epochs_as_one_uninterrupted_run():
    config = _config("train.lr_decay_epochs=2")
    whole = learning_rate_schedule(config, 10)
    phase = learning_rate_schedule(config, 10, start_epoch=3)  # e.g. train.freeze_backbone_epochs=3
    for global_step in range(30, 80):
        assert float(phase(global_step - 30)) == pytest.approx(float(whole(global_step)))
    assert float(phase(10)) == pytest.approx(0.025)  # epoch 4: the second decay, not one epoch late


def test_the_schedule_survives_a_keras_round_trip():
    schedule = learning_rate_schedule(_config("train.lr_decay_epochs=2"), 10, start_epoch=3)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert [float(again(s)) for s in (0, 9, 10, 30)] == [float(schedule(s)) for s in (0, 9, 10, 30)]
