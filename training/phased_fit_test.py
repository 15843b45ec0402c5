"""fit_with_warmup on a toy model whose train step records which batch it read: where
resumed runs start, which optimizer state they keep, and the phase edge cases.
models/trainer_test.py checks the frozen warm-up on the real model and a few _fit_calls."""

import os
import shutil
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import phased_fit
from training.fault_tolerant_training import backed_up_step
from training.phased_fit import FitCall, _fit_calls, _verbosity, fit_with_warmup
from sicot.config import load_config


class Toy(keras.Model):
    """A backbone (trunk + projection) and a head, like SicotModel's; the train step
    keeps the index of the batch it last read in ``seen``."""

    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(0)
        trunk_in = keras.Input((2,))
        trunk = keras.Model(trunk_in, keras.layers.Dense(2, name="conv")(trunk_in), name="toy_trunk")
        visual_in = keras.Input((2,))
        self.visual = keras.Model(visual_in, keras.layers.Dense(2, name="proj")(trunk(visual_in)),
                                  name="toy_backbone")
        self.head = keras.layers.Dense(1)
        self.seen = keras.Variable(-1.0, trainable=False, name="seen")
        self(tf.zeros([1, 2]))

    def call(self, x, training=False):
        return self.head(self.visual(x))

    def backbone_trunk(self):
        return self.visual.get_layer("toy_trunk")

    def accuracy_metrics(self):
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def train_step(self, data):
        x, y = data
        self.seen.assign(x[0, 0] * 100.0)
        with tf.GradientTape() as tape:
            predictions = self(x, training=True)
            loss = tf.reduce_mean((predictions - y) ** 2)
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, predictions)
        return self.get_metrics_result()


def _batches():
    """Batch i holds i / 100 everywhere, so the train step can tell which batch it read."""
    return tf.data.Dataset.range(1000).map(lambda i: (tf.fill([2, 2], tf.cast(i, tf.float32) / 100.0),
                                                      tf.ones([2, 1])))


class Record(keras.callbacks.Callback):
    def __init__(self, backup_dir=None):
        super().__init__()
        self.batches, self.backups, self.starts = [], [], []
        self.backup_dir = backup_dir

    def on_train_begin(self, logs=None):
        trunk = self.model.backbone_trunk()
        self.starts.append((trunk.trainable, float(self.model.optimizer.learning_rate),
                            int(self.model.optimizer.iterations.numpy())))

    def on_train_batch_begin(self, batch, logs=None):
        if self.backup_dir:
            self.backups.append(backed_up_step(self.backup_dir))

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(round(float(self.model.seen.numpy())))


def _config(*overrides):
    return load_config(None, ["train.verbose=0", "train.optimizer=sgd", "train.learning_rate=0.01",
                              "train.lr_decay_gamma=0.5", "train.lr_decay_epochs=1", *overrides])


class CopyBackup(keras.callbacks.Callback):
    """Keeps a copy of the backup taken at `step` (fit_with_warmup removes its backups at
    the end): the state a run killed right after that step leaves behind."""

    def __init__(self, backup_dir: str, step: int, copy_dir: str):
        super().__init__()
        self.backup_dir, self.step, self.copy_dir = backup_dir, step, copy_dir

    def on_train_batch_begin(self, batch, logs=None):
        if backed_up_step(self.backup_dir) == self.step and not os.path.exists(self.copy_dir):
            shutil.copytree(self.backup_dir, self.copy_dir)


def test_resume_mid_epoch_reads_the_next_batch_and_ends_like_an_uninterrupted_run(tmp_path):
    config = _config("train.epochs=3", "train.checkpoint_every_steps=7")
    whole = Toy()
    killed_at_14 = str(tmp_path / "killed")
    fit_with_warmup(whole, config, _batches(), None, steps=10, backup_dir=str(tmp_path / "whole"),
                    callbacks=[CopyBackup(str(tmp_path / "whole"), 14, killed_at_14)])
    model, record = Toy(), Record(killed_at_14)
    history = fit_with_warmup(model, config, _batches(), None, steps=10, callbacks=[record], backup_dir=killed_at_14)
    # The rest of epoch 1 (6 steps), then epoch 2, on the batches an uninterrupted run reads.
    assert record.batches == list(range(14, 30))
    assert len(history.history["loss"]) == 2
    # Backups go on counting global steps: every 7 steps.
    assert record.backups == [14] * 7 + [21] * 7 + [28] * 2
    # The optimizer was restored (14 steps) and took 16 more; the lr of epochs 1 and 2.
    assert [s[1:] for s in record.starts] == [(pytest.approx(0.005), 14), (pytest.approx(0.0025), 20)]
    assert int(model.optimizer.iterations.numpy()) == 30
    for a, b in zip(whole.weights, model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7, err_msg=a.path)
    assert not os.path.exists(killed_at_14)  # removed at the end


def test_resume_at_the_first_step_of_the_second_phase_ends_like_an_uninterrupted_run(tmp_path):
    config = _config("train.epochs=2", "train.freeze_backbone_epochs=1", "train.checkpoint_every_steps=5")
    whole, whole_record = Toy(), Record()
    killed_at_5 = str(tmp_path / "killed")
    fit_with_warmup(whole, config, _batches(), None, steps=5, backup_dir=str(tmp_path / "whole"),
                    callbacks=[whole_record, CopyBackup(str(tmp_path / "whole"), 5, killed_at_5)])
    # Each phase reads its batch stream from the start; the warm-up has the trunk frozen.
    assert whole_record.batches == [0, 1, 2, 3, 4] * 2
    assert whole_record.starts == [(False, pytest.approx(0.01), 0), (True, pytest.approx(0.005), 0)]
    # The backup at step 5 holds the warm-up's optimizer, which the second phase must not take.
    model, record = Toy(), Record()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit_with_warmup(model, config, _batches(), None, steps=5, callbacks=[record],
                                  backup_dir=killed_at_5)
    # Not even tried: Keras would skip it, as it has no slots for the trunk.
    assert not [w for w in caught if "Skipping variable loading for optimizer" in str(w.message)]
    assert record.batches == [0, 1, 2, 3, 4]  # only the second phase
    assert len(history.history["loss"]) == 1
    assert record.starts == whole_record.starts[1:]  # a fresh optimizer at iteration 0
    assert int(model.optimizer.iterations.numpy()) == 5
    for a, b in zip(whole.weights, model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7, err_msg=a.path)


def test_a_warm_up_longer_than_the_training_freezes_all_of_it():
    config = _config("train.epochs=1", "train.freeze_backbone_epochs=5")
    model, record = Toy(), Record()
    trunk = model.backbone_trunk()
    before = [w.numpy().copy() for w in trunk.weights]
    head_before = model.head.kernel.numpy().copy()
    history = fit_with_warmup(model, config, _batches, None, steps=3, callbacks=[record])  # a dataset function
    assert record.batches == [0, 1, 2]
    assert len(history.history["loss"]) == 1
    assert record.starts == [(False, pytest.approx(0.01), 0)]
    assert all((a == w.numpy()).all() for a, w in zip(before, trunk.weights))
    assert not (head_before == model.head.kernel.numpy()).all()
    assert trunk.trainable  # unfrozen again at the end


def test_fit_calls_at_phase_edges():
    assert _fit_calls(0, 2, 5, 10) == []  # the phase is already done
    assert _fit_calls(0, 3, 10, 25) == [FitCall(25, 2, 3, 5)]  # inside its last epoch
    assert _fit_calls(1, 3, 10, 10) == [FitCall(10, 1, 3, 10)]  # at its first step


@pytest.mark.parametrize("verbose, tty, expected", [(0, True, 0), (2, True, 2), (-1, True, 1), (-1, False, 2)])
def test_verbosity_is_a_progress_bar_only_on_a_terminal(monkeypatch, verbose, tty, expected):
    monkeypatch.setattr(phased_fit.sys.stdout, "isatty", lambda: tty, raising=False)
    assert _verbosity(load_config(None, [f"train.verbose={verbose}"])) == expected
