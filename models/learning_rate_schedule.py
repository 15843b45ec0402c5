"""The optimizer and its step-decay learning-rate schedule (the paper: gamma 0.8)."""

from __future__ import annotations

import math

import keras

from sicot.config import SicotConfig


def learning_rate_schedule(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0):
    """Step decay; a schedule that starts at start_epoch carries the decays before it."""
    t = config.train
    decays_done = start_epoch // max(1, t.lr_decay_epochs)
    return keras.optimizers.schedules.ExponentialDecay(
        t.learning_rate * t.lr_decay_gamma**decays_done,
        decay_steps=max(1, steps_per_epoch * t.lr_decay_epochs),
        decay_rate=t.lr_decay_gamma,
        staircase=True,
    )


def make_optimizer(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0) -> keras.optimizers.Optimizer:
    t = config.train
    schedule = learning_rate_schedule(config, steps_per_epoch, start_epoch)
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=t.momentum)
    if t.optimizer == "adam":
        return keras.optimizers.Adam(schedule)
    raise ValueError(f"unknown train.optimizer '{t.optimizer}' (known: sgd, adam)")


def steps_per_epoch(config: SicotConfig, num_train_examples: int) -> int:
    if config.train.steps_per_epoch > 0:
        return config.train.steps_per_epoch
    return max(1, math.ceil(num_train_examples / config.train.batch_size))
