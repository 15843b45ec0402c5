"""Training that survives its process being killed: a backup every N steps, resume at the step.

``StepBackup`` (a Keras callback, like ``keras.callbacks.BackupAndRestore``) writes the
whole training state every ``train.checkpoint_every_steps`` steps: the model's and the
optimizer's variables (``model.save_weights``) and the global step. Keras 3's
BackupAndRestore resumes at the start of the interrupted epoch (it keeps the epoch,
not the batch), which would train some steps twice; here a restarted run continues at
the backed-up global step: it loads the state, finishes the interrupted epoch, and the
input pipeline is moved on (``dataset.skip``) to the batch that step would have read,
so it ends at the same step count with the same model as an uninterrupted run.

A backup is one weights file plus ``latest.json`` naming it, replaced atomically after
the file is complete, so a kill at any moment leaves the previous backup usable. The
backup folder is removed when training finishes.
"""

from __future__ import annotations

import json
import os
import shutil

import keras

LATEST = "latest.json"


class StepBackup(keras.callbacks.Callback):
    """Every `every_steps` steps: the training state and the global step (counted from
    `first_step`, the global step of this fit call's first batch)."""

    def __init__(self, backup_dir: str, every_steps: int, first_step: int):
        super().__init__()
        self.backup_dir = backup_dir
        self.every_steps = every_steps
        self.step = first_step

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.every_steps > 0 and self.step % self.every_steps == 0:
            save_state(self.model, self.backup_dir, self.step)


def save_state(model: keras.Model, backup_dir: str, step: int) -> None:
    os.makedirs(backup_dir, exist_ok=True)
    name = f"state-{step}.weights.h5"
    model.save_weights(os.path.join(backup_dir, name), overwrite=True)
    previous = _latest(backup_dir)
    tmp = os.path.join(backup_dir, LATEST + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"step": step, "weights": name}, f)
    os.replace(tmp, os.path.join(backup_dir, LATEST))
    if previous and previous["weights"] != name:
        try:
            os.remove(os.path.join(backup_dir, previous["weights"]))
        except FileNotFoundError:
            pass


def _latest(backup_dir: str) -> dict | None:
    try:
        with open(os.path.join(backup_dir, LATEST)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def backed_up_step(backup_dir: str | None) -> int:
    """The global step of the last backup (0: none)."""
    latest = _latest(backup_dir) if backup_dir else None
    return int(latest["step"]) if latest else 0


def restore_state(model: keras.Model, backup_dir: str, with_optimizer: bool = True) -> int:
    """Loads the last backup into the model and (with_optimizer) its compiled optimizer;
    returns the backup's global step."""
    latest = _latest(backup_dir)
    if not latest:
        return 0
    path = os.path.join(backup_dir, latest["weights"])
    if with_optimizer:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(path)
    else:
        model.load_weights(path, objects_to_skip=[model.optimizer])
    return int(latest["step"])


def remove_backups(backup_dir: str | None) -> None:
    if backup_dir and os.path.isdir(backup_dir):
        shutil.rmtree(backup_dir)
