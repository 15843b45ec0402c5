"""The optimizer and its step-decay learning-rate schedule (the paper: gamma 0.8)."""

from __future__ import annotations

import math

import keras

from sicot.config import SicotConfig
from training.row_sparse_sgd import RowSparseSGD


@keras.saving.register_keras_serializable(package="sicot")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial * rate ** floor((step + offset_steps) / decay_steps)``: Keras'
    staircase ExponentialDecay on the run's global step, where a phase's optimizer
    counts its steps from 0 and ``offset_steps`` is where the phase starts. A phase that
    starts mid-period (train.freeze_backbone_epochs not a multiple of
    train.lr_decay_epochs) then decays at the same epochs as one uninterrupted run."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, offset_steps: int = 0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.offset_steps = offset_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32") + float(self.offset_steps)
        periods = keras.ops.floor(step / float(self.decay_steps))
        return self.initial_learning_rate * keras.ops.power(self.decay_rate, periods)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "offset_steps": self.offset_steps}


def learning_rate_schedule(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0) -> StepDecay:
    """Step decay by lr_decay_gamma every lr_decay_epochs epochs of the whole run; a
    schedule for a phase that starts at start_epoch counts from there."""
    t = config.train
    return StepDecay(t.learning_rate, max(1, steps_per_epoch * t.lr_decay_epochs), t.lr_decay_gamma,
                     offset_steps=start_epoch * steps_per_epoch)


def make_optimizer(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0) -> keras.optimizers.Optimizer:
    t = config.train
    schedule = learning_rate_schedule(config, steps_per_epoch, start_epoch)
    if t.optimizer == "sgd":
        return (RowSparseSGD if t.row_sparse_updates else keras.optimizers.SGD)(schedule, momentum=t.momentum)
    if t.row_sparse_updates:
        raise ValueError(f"train.row_sparse_updates is an option of train.optimizer sgd, not '{t.optimizer}'")
    if t.optimizer == "adam":
        return keras.optimizers.Adam(schedule)
    raise ValueError(f"unknown train.optimizer '{t.optimizer}' (known: sgd, adam)")


def steps_per_epoch(config: SicotConfig, num_train_examples: int) -> int:
    if config.train.steps_per_epoch > 0:
        return config.train.steps_per_epoch
    return max(1, math.ceil(num_train_examples / config.train.batch_size))
