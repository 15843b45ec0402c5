import json
import os
import types

import numpy as np
import pytest
import tensorflow as tf

from models.input_pipeline import _augment
from training.learning_rate_schedule import learning_rate_schedule, make_optimizer, steps_per_epoch
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


def test_schedule_started_later_carries_the_earlier_decays():
    config = load_config(None, ["train.learning_rate=0.1", "train.lr_decay_gamma=0.5", "train.lr_decay_epochs=1"])
    assert float(learning_rate_schedule(config, 10, start_epoch=2)(0)) == pytest.approx(0.025)


def test_frozen_warmup_then_full_fine_tuning():
    import keras

    from models import features
    from models.sicot_model import build_sicot_model
    from training.phased_fit import fit_with_warmup

    config = load_config(None, [
        "model.backbone=tiny_cnn", "model.feature_dim=8", "preprocessing.image_size=12",
        "preprocessing.max_title_tokens=4", "train.epochs=2", "train.freeze_backbone_epochs=1",
        "train.optimizer=adam", "train.learning_rate=0.05", "train.verbose=0",
    ])
    keras.utils.set_random_seed(0)
    model = build_sicot_model(config, 3, 6)
    rng = np.random.default_rng(0)
    x = {features.IMAGE_PIXELS: rng.uniform(-1, 1, (8, 12, 12, 3)).astype("float32"),
         features.TITLE_TOKEN_IDS: rng.integers(0, 6, (8, 4)).astype("int64")}
    y = rng.integers(0, 3, 8)
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    trunk = model.backbone_trunk()
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(([w.numpy().copy() for w in trunk.weights],
                              model.get_layer("classifier").kernel.numpy().copy()))

    model(x[features.IMAGE_PIXELS])  # builds the classifier
    initial = [w.numpy().copy() for w in trunk.weights]
    initial_head = model.get_layer("classifier").kernel.numpy().copy()
    history = fit_with_warmup(model, config, ds, tf.data.Dataset.from_tensors((x, y)), steps=5,
                              callbacks=[Snapshot()])
    assert len(history.history["loss"]) == 2
    (trunk_1, head_1), (trunk_2, head_2) = snapshots
    assert all(np.array_equal(a, b) for a, b in zip(initial, trunk_1))  # frozen during warm-up
    assert not np.array_equal(initial_head, head_1)  # the classifier trains during warm-up
    assert any(not np.array_equal(a, b) for a, b in zip(trunk_1, trunk_2))  # then fine-tuned
    assert trunk.trainable


def test_trainer_starts_from_the_word2vec_step_unless_a_file_is_given(tmp_path):
    from models.word_vectors import EMBEDDING_FILE
    from models.trainer import initial_word_vectors

    vectors = np.arange(12, dtype="float32").reshape(4, 3)
    np.save(tmp_path / EMBEDDING_FILE, vectors)
    config = load_config(None, [])
    np.testing.assert_array_equal(initial_word_vectors(config, None, None, str(tmp_path)), vectors)
    assert initial_word_vectors(config, None, None, None) is None
    baseline = load_config(None, ["model.co_training=false"])
    assert initial_word_vectors(baseline, None, None, str(tmp_path)) is None


def test_resumed_phase_finishes_the_interrupted_epoch_then_whole_epochs():
    from training.phased_fit import FitCall, _fit_calls

    # (first global step, initial epoch, end epoch, steps per epoch)
    assert _fit_calls(0, 3, 10, 0) == [FitCall(first_step=0, initial_epoch=0, end_epoch=3, steps=10)]
    assert _fit_calls(0, 3, 10, 14) == [(14, 1, 2, 6), (20, 2, 3, 10)]
    assert _fit_calls(0, 3, 10, 20) == [(20, 2, 3, 10)]
    assert _fit_calls(1, 3, 10, 29) == [(29, 2, 3, 1)]


def test_crt_and_ncm_replace_the_classifier_from_the_training_features(tmp_path):
    import json
    import types

    import keras

    from models import features as feature_names
    from models.classifier_retraining import RetrainingSettings, retrained_classifier
    from models.nearest_class_mean import class_means, ncm_kernel
    from models.trainer import replace_classifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3)).astype(np.float32)
    y = np.array([0] * 8 + [1] * 3 + [2])
    ds = tf.data.Dataset.from_tensor_slices(({feature_names.IMAGE_PIXELS: x}, y)).batch(5)
    classifier = keras.layers.Dense(3)
    classifier.build((None, 3))
    # The visual feature of these "images" is the input itself.
    model = types.SimpleNamespace(classifier=classifier, visual_features=lambda pixels, training: pixels)
    config = load_config(None, ["long_tail.adjustment=crt", "long_tail.crt_epochs=4", "train.seed=9"])
    record = replace_classifier(model, config, ds, 3, str(tmp_path))
    kernel, bias = retrained_classifier(x, y, 3, RetrainingSettings(epochs=4), seed=9)
    np.testing.assert_allclose(classifier.kernel.numpy(), kernel, rtol=1e-6)
    np.testing.assert_allclose(classifier.bias.numpy(), bias, rtol=1e-6)
    assert record["settings"]["epochs"] == 4 and record["train_images"] == 12
    assert json.loads((tmp_path / "classifier_rebalancing.json").read_text()) == record
    config.long_tail.adjustment = "ncm"
    assert replace_classifier(model, config, ds, 3, None)["classes_without_mean"] == 0
    # Class means summed batch by batch against all at once: another summation order, so an absolute floor.
    np.testing.assert_allclose(classifier.kernel.numpy(), ncm_kernel(class_means(x, y, 3)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(classifier.bias.numpy(), np.zeros(3))


@pytest.mark.parametrize("task_type, chief", [(None, True), ("chief", True), ("worker", False)])
def test_run_fn_logs_to_the_model_run_only_on_the_chief(tmp_path, monkeypatch, task_type, chief):
    from models import custom_config, trainer

    if task_type is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        cluster = {"chief": ["h:1"], "worker": ["h:2"]}
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": 0}}))
    seen = {}
    monkeypatch.setattr(trainer, "train_and_export", lambda config, *args, **kwargs: seen.update(kwargs))
    run_dir = tmp_path / "model_run"
    fn_args = types.SimpleNamespace(
        custom_config=custom_config.encode(load_config(None, [])), model_run_dir=str(run_dir),
        train_files=[], eval_files=[], transform_output="", serving_model_dir="", eval_model_dir="")
    trainer.run_fn(fn_args)
    # The other tasks share the ModelRun's URI: they must not write the chief's logs there.
    assert (seen["log_dir"] == str(run_dir)) is chief
    assert run_dir.exists() is chief
    assert os.path.isdir(seen["log_dir"])


def test_the_trainers_logs_go_to_the_model_runs_file_system(monkeypatch):
    """On a cloud pipeline root the ModelRun is a bucket's folder (gs://...): run_fn
    creates it and the Trainer's log files go there through tf.io.gfile (TensorFlow's
    in-memory file system stands in for gs:// here), not into a local folder named 'gs:'."""
    from models import custom_config, trainer

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(trainer, "train_and_export",
                        lambda config, *args, **kwargs: trainer.write_log(kwargs["log_dir"], "word_vectors.txt", "ok\n"))
    run_dir = "ram://pipeline_root/Trainer/model_run/7"
    fn_args = types.SimpleNamespace(
        custom_config=custom_config.encode(load_config(None, [])), model_run_dir=run_dir,
        train_files=[], eval_files=[], transform_output="", serving_model_dir="", eval_model_dir="")
    trainer.run_fn(fn_args)
    with tf.io.gfile.GFile(f"{run_dir}/word_vectors.txt") as f:
        assert f.read() == "ok\n"
    assert not os.path.exists("ram:")
