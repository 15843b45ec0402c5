"""Training that survives its process being killed: a backup every N steps, resume at the step.

``StepBackup`` (a Keras callback, like ``keras.callbacks.BackupAndRestore``) writes the
whole training state every ``train.checkpoint_every_steps`` steps: the model's and the
optimizer's variables (``model.save_weights``) and the global step. Keras 3's
BackupAndRestore resumes at the start of the interrupted epoch (it keeps the epoch,
not the batch), which would train some steps twice; here a restarted run continues at
the backed-up global step: it loads the state, finishes the interrupted epoch, and the
input pipeline is moved on (``dataset.skip``) to the batch that step would have read,
so it ends at the same step count with the same model as an uninterrupted run.

A backup is one weights file plus ``latest.json`` naming it, replaced (atomically on a
local disk) after the file is complete, so a kill at any moment leaves the previous
backup usable. The folder may be on any file system TensorFlow reads and writes
(``tf.io.gfile``: gs://... for a Trainer in the cloud, whose pods keep nothing on
their own disks past a restart). The backup before the last one is kept too: the tasks
of a multi-worker cluster back up one after another, and when a kill leaves one of them
a backup behind, every task resumes at the step they all hold (``agreed_resume_step``).
The backup folder is removed when training finishes.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from sicot.console import detail

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
        if self.count_step():
            self.save()

    def count_step(self) -> bool:
        """Counts one trained step; True when the state is due for a backup."""
        self.step += 1
        return self.every_steps > 0 and self.step % self.every_steps == 0

    def save(self) -> None:
        save_state(self.model, self.backup_dir, self.step)


def save_state(model: keras.Model, backup_dir: str, step: int) -> None:
    """Writes the state of ``step`` and switches ``latest.json`` to it; the backup before
    it stays too (``previous``), every older one is removed."""
    tf.io.gfile.makedirs(backup_dir)
    name = f"state-{step}.weights.h5"
    model.save_weights(os.path.join(backup_dir, name), overwrite=True)
    latest = _latest(backup_dir)
    record = {"step": step, "weights": name}
    if latest and latest["weights"] != name:
        record["previous"] = {"step": latest["step"], "weights": latest["weights"]}
    elif latest and latest.get("previous"):
        record["previous"] = latest["previous"]
    tmp = os.path.join(backup_dir, LATEST + ".tmp")
    with tf.io.gfile.GFile(tmp, "w") as f:
        f.write(json.dumps(record))
    tf.io.gfile.rename(tmp, os.path.join(backup_dir, LATEST), overwrite=True)
    kept = {b["weights"] for b in _backups(record)}
    _remove_files(backup_dir, lambda file: _is_state(file) and file not in kept)


def _latest(backup_dir: str) -> dict | None:
    try:
        with tf.io.gfile.GFile(os.path.join(backup_dir, LATEST), "r") as f:
            return json.loads(f.read())
    except tf.errors.NotFoundError:
        return None


def _is_state(file: str) -> bool:
    return file.startswith("state-") and file.endswith(".weights.h5")


def _remove_files(folder: str, which) -> None:
    for file in tf.io.gfile.listdir(folder):
        if which(file):
            try:
                tf.io.gfile.remove(os.path.join(folder, file))
            except tf.errors.NotFoundError:  # removed meanwhile
                pass


def _backups(latest: dict | None) -> list[dict]:
    """The backups a latest.json names, newest first: {"step", "weights"} each."""
    if not latest:
        return []
    return [latest, *([latest["previous"]] if latest.get("previous") else [])]


def backed_up_step(backup_dir: str | None) -> int:
    """The global step of the last backup (0: none)."""
    latest = _latest(backup_dir) if backup_dir else None
    return int(latest["step"]) if latest else 0


def agreed_resume_step(strategy: tf.distribute.Strategy, backup_dir: str | None) -> int:
    """The step training resumes at: this process's last backup, or under
    MultiWorkerMirroredStrategy the smallest of every task's last backup. The tasks back
    up one after another, so a cluster killed between two tasks' writes leaves one task
    a backup behind the others; they all go back to its step (each keeps the backup
    before its last for that), since replicas that start at different steps would wait
    for each other's collectives for ever. Every task must call it (a collective)."""
    step = backed_up_step(backup_dir)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return step

    @tf.function
    def smallest():
        per_replica = strategy.run(lambda: tf.constant([step], tf.int64))
        return tf.reduce_min(strategy.gather(per_replica, axis=0))

    agreed = int(smallest().numpy())
    if agreed != step:
        detail(f"this task backed up step {step}, another task only step {agreed}: every task resumes at {agreed}")
    return agreed


def restore_state(model: keras.Model, backup_dir: str, with_optimizer: bool = True, step: int | None = None) -> int:
    """Loads the backup of ``step`` (default: the last one) into the model and
    (with_optimizer) its compiled optimizer; returns the backup's global step (0: no
    backup). A step this folder no longer holds is refused, naming the steps it holds."""
    backups = _backups(_latest(backup_dir))
    if not backups:
        return 0
    chosen = backups[0] if step is None else next((b for b in backups if int(b["step"]) == step), None)
    if chosen is None:
        raise ValueError(f"the training backups in {backup_dir} hold step(s) "
                         f"{', '.join(str(b['step']) for b in backups)}, not step {step}, which the other tasks of "
                         "the cluster resume at; remove every task's backups to train from the start")
    path = os.path.join(backup_dir, chosen["weights"])
    if with_optimizer:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(path)
    else:
        model.load_weights(path, objects_to_skip=[model.optimizer])
    return int(chosen["step"])


def remove_backups(backup_dir: str | None, nested: bool = False) -> None:
    """Removes this task's backups (its latest.json and state files) and the folder once
    empty. The other tasks of a multi-worker cluster keep theirs in folders inside the
    chief's (``training.distribution.task_path``) and may still be writing them: the
    chief leaves those, and a task whose folder is ``nested`` in the chief's removes the
    chief's folder too once it is empty (the last task to finish does)."""
    if not backup_dir or not tf.io.gfile.isdir(backup_dir):
        return
    _remove_files(backup_dir, lambda file: file in (LATEST, LATEST + ".tmp") or _is_state(file))
    for folder in (backup_dir, os.path.dirname(backup_dir.rstrip("/"))) if nested else (backup_dir,):
        try:
            if tf.io.gfile.listdir(folder):  # another task's backups are still in it
                return
            tf.io.gfile.rmtree(folder)
        except tf.errors.NotFoundError:  # removed meanwhile by another task
            return
