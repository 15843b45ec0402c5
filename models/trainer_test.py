import numpy as np
import pytest
import tensorflow as tf

from models.trainer import _augment, learning_rate_schedule, make_optimizer, steps_per_epoch
from sicot.config import load_config


def test_step_decay_multiplies_by_gamma_each_decay_period():
    config = load_config(None, ["train.learning_rate=0.1", "train.lr_decay_gamma=0.8", "train.lr_decay_epochs=2"])
    schedule = learning_rate_schedule(config, steps_per_epoch=10)
    assert float(schedule(0)) == pytest.approx(0.1)
    assert float(schedule(19)) == pytest.approx(0.1)  # still inside the first 2 epochs
    assert float(schedule(20)) == pytest.approx(0.08)
    assert float(schedule(45)) == pytest.approx(0.1 * 0.8**2)


def test_steps_per_epoch_from_data_unless_set():
    config = load_config(None, ["train.batch_size=32"])
    assert steps_per_epoch(config, 100) == 4
    config.train.steps_per_epoch = 7
    assert steps_per_epoch(config, 100) == 7


def test_unknown_optimizer_is_refused():
    config = load_config(None, ["train.optimizer=rmsprop"])
    with pytest.raises(ValueError, match="unknown train.optimizer 'rmsprop'"):
        make_optimizer(config, 10)


def test_augmentation_keeps_shape_and_is_seeded():
    image = tf.random.stateless_uniform([16, 16, 3], seed=[1, 2], minval=-1, maxval=1)
    a = _augment(image, tf.constant([3, 4]))
    b = _augment(image, tf.constant([3, 4]))
    c = _augment(image, tf.constant([5, 6]))
    assert a.shape == (16, 16, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
