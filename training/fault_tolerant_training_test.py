import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.fault_tolerant_training import (
    LATEST,
    StepBackup,
    agreed_resume_step,
    backed_up_step,
    remove_backups,
    restore_state,
    save_state,
)


def _model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


def _data():
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    return tf.data.Dataset.from_tensors((x, np.ones((4, 2), "float32"))).repeat()


def test_backups_every_n_steps_keep_the_last_two_states(tmp_path):
    model = _model(0)
    model.fit(_data(), epochs=1, steps_per_epoch=5, verbose=0, callbacks=[StepBackup(str(tmp_path), 2, first_step=10)])
    assert json.loads((tmp_path / LATEST).read_text()) == {
        "step": 14, "weights": "state-14.weights.h5", "previous": {"step": 12, "weights": "state-12.weights.h5"}}
    assert sorted(p.name for p in tmp_path.iterdir()) == [LATEST, "state-12.weights.h5", "state-14.weights.h5"]
    assert backed_up_step(str(tmp_path)) == 14 and backed_up_step(str(tmp_path / "none")) == 0


def test_restore_of_the_step_before_the_last_and_of_a_step_no_longer_held(tmp_path):
    model = _model(0)
    states = {}
    for step in (1, 2, 3):
        model.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
        save_state(model, str(tmp_path), step)
        states[step] = [w.numpy().copy() for w in model.weights]
    fresh = _model(1)
    assert restore_state(fresh, str(tmp_path), step=2) == 2
    for got, want in zip(fresh.weights, states[2]):
        np.testing.assert_array_equal(got.numpy(), want)
    assert int(fresh.optimizer.iterations.numpy()) == 2
    with pytest.raises(ValueError, match=r"hold step\(s\) 3, 2, not step 1, which the other tasks"):
        restore_state(fresh, str(tmp_path), step=1)


def test_outside_a_multi_worker_cluster_training_resumes_at_its_own_last_backup(tmp_path):
    save_state(_model(0), str(tmp_path), 5)
    assert agreed_resume_step(tf.distribute.get_strategy(), str(tmp_path)) == 5
    assert agreed_resume_step(tf.distribute.get_strategy(), None) == 0


def test_restore_brings_back_weights_and_optimizer_state(tmp_path):
    trained = _model(0)
    trained.fit(_data(), epochs=1, steps_per_epoch=3, verbose=0)
    save_state(trained, str(tmp_path), 3)
    fresh = _model(1)  # other initial weights, optimizer not built yet
    assert restore_state(fresh, str(tmp_path)) == 3
    for a, b in zip(trained.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 3
    momenta = [v for v in fresh.optimizer.variables if "momentum" in v.path]
    assert momenta and any(np.abs(v.numpy()).sum() > 0 for v in momenta)
    # Both continue identically.
    trained.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    fresh.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    for a, b in zip(trained.weights, fresh.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    remove_backups(str(tmp_path))
    assert not tmp_path.exists()


def test_restore_without_the_optimizer_keeps_a_fresh_one(tmp_path):
    trained = _model(0)
    trained.fit(_data(), epochs=1, steps_per_epoch=3, verbose=0)
    save_state(trained, str(tmp_path), 3)
    fresh = _model(1)
    assert restore_state(fresh, str(tmp_path), with_optimizer=False) == 3
    for a, b in zip(trained.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not fresh.optimizer.built or int(fresh.optimizer.iterations.numpy()) == 0


def test_no_backup_restores_nothing(tmp_path):
    assert restore_state(_model(0), str(tmp_path)) == 0


def test_each_task_removes_its_own_backups_and_the_last_one_the_chiefs_folder(tmp_path):
    chief, worker = tmp_path / "backup", tmp_path / "backup" / "worker_0"
    save_state(_model(0), str(chief), 4)
    save_state(_model(0), str(worker), 4)
    remove_backups(str(chief))  # the chief finished first: the worker's backups stay
    assert sorted(p.name for p in chief.iterdir()) == ["worker_0"]
    assert sorted(p.name for p in worker.iterdir()) == [LATEST, "state-4.weights.h5"]
    remove_backups(str(worker), nested=True)
    assert not chief.exists()
    save_state(_model(0), str(chief), 6)
    save_state(_model(0), str(worker), 6)
    remove_backups(str(worker), nested=True)  # the worker finished first
    assert sorted(p.name for p in chief.iterdir()) == [LATEST, "state-6.weights.h5"]
    remove_backups(str(chief))
    assert not chief.exists()


def test_backups_on_a_file_system_other_than_the_local_disk(tmp_path):
    """The backups go through tf.io.gfile (a Trainer in the cloud keeps them in a
    bucket): TensorFlow's in-memory file system stands in for gs:// here."""
    backup_dir = f"ram://backups/{tmp_path.name}/chief"
    trained = _model(0)
    trained.fit(_data(), epochs=1, steps_per_epoch=5, verbose=0, callbacks=[StepBackup(backup_dir, 2, first_step=0)])
    assert sorted(tf.io.gfile.listdir(backup_dir)) == [LATEST, "state-2.weights.h5", "state-4.weights.h5"]
    assert backed_up_step(backup_dir) == 4
    four_steps = _model(0)
    four_steps.fit(_data(), epochs=1, steps_per_epoch=4, verbose=0)
    fresh = _model(1)
    assert restore_state(fresh, backup_dir) == 4
    for a, b in zip(four_steps.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 4
    remove_backups(backup_dir)
    assert not tf.io.gfile.exists(backup_dir)
