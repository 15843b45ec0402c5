"""The fit loop: a frozen-backbone warm-up phase, then all layers, resumable mid-epoch.

``fit_with_warmup`` trains for train.epochs in up to two phases (the first
train.freeze_backbone_epochs with the backbone trunk frozen), each a fresh optimizer
whose schedule carries the decays before it; with backups
(training/fault_tolerant_training.py) a restarted call resumes at the backed-up step:
the rest of the interrupted epoch, then whole epochs (``FitCall``). Under
ParameterServerStrategy the chief schedules the steps on the workers, validates
between epochs and writes the backups.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import keras

from sicot.config import SicotConfig
from sicot.console import detail
from training.distribution import fit_on_parameter_servers, is_chief, is_parameter_server
from training.fault_tolerant_training import StepBackup, agreed_resume_step, remove_backups, restore_state
from training.learning_rate_schedule import make_optimizer


def _verbosity(config: SicotConfig) -> int:
    if config.train.verbose >= 0:
        return config.train.verbose
    return 1 if sys.stdout.isatty() else 2


def _compile(model, config: SicotConfig, steps: int, start_epoch: int) -> None:
    model.compile(optimizer=make_optimizer(config, steps, start_epoch), metrics=model.accuracy_metrics())


def fit_with_warmup(model, config: SicotConfig, train_ds, eval_ds, steps: int, callbacks=(), backup_dir=None):
    """Trains for train.epochs; the first train.freeze_backbone_epochs with the trunk frozen.

    train_ds: a dataset, or a function that builds it (ParameterServerStrategy needs the
    function: each worker builds its own input pipeline from it).
    With backup_dir and train.checkpoint_every_steps > 0 the training state is backed up
    every N steps, and a call that finds a backup resumes at its step (see
    training/fault_tolerant_training.py); the backups are removed at the end. Under
    ParameterServerStrategy the chief schedules the steps on the workers.
    """
    epochs = config.train.epochs
    warm = max(0, min(config.train.freeze_backbone_epochs, epochs))
    trunk = model.backbone_trunk() if warm else None
    resume_step = agreed_resume_step(model.distribute_strategy, backup_dir)
    history = keras.callbacks.History()
    history.history = {}
    for first_epoch, end_epoch, frozen in ((0, warm, True), (warm, epochs, False)):
        if first_epoch >= end_epoch or resume_step >= end_epoch * steps:
            continue
        if trunk is not None:
            trunk.trainable = not frozen
        with model.distribute_strategy.scope():
            _compile(model, config, steps, first_epoch)
            if resume_step and resume_step >= first_epoch * steps:
                # A backup taken at this phase's first step holds the previous phase's
                # optimizer: this phase starts with a fresh one, as it would have. In
                # the scope: the optimizer's variables are built there (a strategy's
                # replicas or parameter servers hold them).
                restore_state(model, backup_dir, with_optimizer=resume_step > first_epoch * steps, step=resume_step)
                detail(f"resuming training at step {resume_step} from {backup_dir}")
        for call in _fit_calls(first_epoch, end_epoch, steps, max(resume_step, first_epoch * steps)):
            logs = _fit(model, config, train_ds, eval_ds, call, first_epoch * steps, callbacks, backup_dir)
            for key, values in logs.items():
                history.history.setdefault(key, []).extend(values)
    if trunk is not None:
        trunk.trainable = True
    remove_backups(backup_dir, nested=not is_chief())
    return history


class FitCall(NamedTuple):
    """One model.fit call of a phase."""

    first_step: int     # the global step it starts at
    initial_epoch: int
    end_epoch: int
    steps: int          # steps per epoch of this call


def _fit_calls(first_epoch: int, end_epoch: int, steps: int, start_step: int) -> list[FitCall]:
    """The fit calls that train a phase from start_step on: the rest of an interrupted
    epoch, then whole epochs."""
    epoch, done = divmod(start_step, steps)
    calls = []
    if done:
        calls.append(FitCall(start_step, epoch, epoch + 1, steps - done))
        epoch += 1
    if epoch < end_epoch:
        calls.append(FitCall(epoch * steps, epoch, end_epoch, steps))
    return calls


def _fit(model, config: SicotConfig, train_ds, eval_ds, call: FitCall, phase_first_step: int, callbacks,
         backup_dir) -> dict:
    first_step, initial_epoch, end_epoch, steps = call

    def data():
        # Each fit call reads the phase's batch stream from its start: skip what was trained.
        ds = train_ds() if callable(train_ds) else train_ds
        return ds.skip(first_step - phase_first_step) if first_step > phase_first_step else ds

    every = config.train.checkpoint_every_steps
    backup = [StepBackup(backup_dir, every, first_step)] if backup_dir and every > 0 else []
    if is_parameter_server(model.distribute_strategy):
        return fit_on_parameter_servers(model, data, end_epoch, steps, initial_epoch, callbacks,
                                        validation_data=eval_ds, backup=backup[0] if backup else None)
    return model.fit(
        data(),
        epochs=end_epoch,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        validation_data=eval_ds,
        verbose=_verbosity(config),
        callbacks=[*callbacks, *backup],
    ).history
