"""Nearest-class-mean re-scoring: the feature probe on real SavedModels (Dense and
sharded, one pass and several), the class means, and the rule on a fake evaluation
model with real variables (a trained model end to end in
tests/evaluation_report_e2e_test.py)."""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from evaluation import crt_rescoring as crt
from evaluation import ncm_rescoring as ncm
from evaluation import posthoc_rescoring, rescoring
from evaluation.run_results import RunResultsError
from evaluation.tau_norm_rescoring import classifier_variables
from models import features
from models.export import ServingModule
from models.image_preprocessing import decode_images
from models.sharded_classifier import ShardedClassifier
from sicot.config import load_config
from tests import fake_evaluation_model
from tests.model_results import model_result
from tests.tiny_serving import LABELS, SIZE, VocabularyOnly, png

RNG = np.random.default_rng(5)


def _exported(tmp_path, dims: int, shards: int):
    """A saved image model (a feature of ``dims`` before a classifier named as
    models/sicot_model.py names it) and the Keras model of its feature."""
    keras.utils.set_random_seed(1)
    pixels = keras.Input((SIZE, SIZE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(pixels)
    feature = keras.layers.Dense(dims, name="visual_projection")(pooled)
    head = (keras.layers.Dense(len(LABELS), name="classifier") if shards == 1
            else ShardedClassifier(len(LABELS), shards, name="classifier"))
    model = keras.Model(pixels, head(feature))
    serving = ServingModule(model, VocabularyOnly(), load_config(None, [f"preprocessing.image_size={SIZE}"]))
    path = str(tmp_path / f"m{dims}-{shards}")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return path, keras.Model(pixels, feature)


def _write_examples(folder: Path, images: list[bytes]) -> Path:
    folder.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(folder / "part-0.gz"), options="GZIP") as writer:
        for image in images:
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image]))})).SerializeToString())
    return folder


# dims 2: one pass (3 classes, 2 dimensions and the zero column); dims 4: two passes.
@pytest.mark.parametrize("dims,shards", [(2, 1), (4, 1), (4, 2)])
def test_the_probe_reads_the_feature_the_classifier_sees_and_puts_the_weights_back(tmp_path, dims, shards):
    path, feature_model = _exported(tmp_path, dims, shards)
    # Features of either sign and well away from 0, so a wrong column or scale shows.
    images = [png(tuple(int(c) for c in RNG.integers(0, 256, 3))) for _ in range(7)]
    examples_dir = _write_examples(tmp_path / f"x{dims}-{shards}", images)
    posthoc_rescoring.evaluation_model.cache_clear()
    loaded = posthoc_rescoring.evaluation_model(path)
    parts = classifier_variables(loaded, path)
    before = [(k.numpy(), b.numpy()) for k, b in parts]
    got = ncm.features_through_classifier(path, parts, examples_dir)
    expected = feature_model(decode_images(tf.constant(images), SIZE), training=False).numpy()
    assert got.shape == (7, dims)
    assert np.std(expected) > 0.05
    np.testing.assert_allclose(got, expected, atol=2e-4)
    for (k, b), (k0, b0) in zip(parts, before):
        np.testing.assert_array_equal(k.numpy(), k0)
        np.testing.assert_array_equal(b.numpy(), b0)


# The fake evaluation model: real variables, logits = features @ kernel + bias. The
# trained classifier favours class 0 (the head: large weights and bias), so the tail
# images of the test split go to it; their features lie nearest their own classes' means.
KERNEL = np.array([[4.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
BIAS = np.array([1.0, 0.0, 0.0])
TRAIN = (np.array([[2.0, 0.1, 0.0], [2.2, 0.0, 0.3], [1.8, 0.2, 0.1], [0.3, 2.0, 0.0], [0.0, 0.1, 1.0]]),
         np.array([0, 0, 0, 1, 2]))
VALIDATION = (np.array([[1.0, 2.5, 0.0], [0.8, 0.0, 3.2], [1.0, 0.2, 0.1]]), np.array([1, 2, 0]))
TEST = (np.array([[0.5, 1.5, 0.0], [0.4, 0.0, 1.2], [2.0, 0.3, 0.2]]), np.array([1, 2, 0]))


def _fake_model(monkeypatch):
    return fake_evaluation_model.install(monkeypatch, ncm, KERNEL, BIAS,
                                         {"Split-train": TRAIN, "Split-validation": VALIDATION, "Split-eval": TEST})


def test_the_model_is_scored_by_its_nearest_class_mean_and_its_weights_come_back(monkeypatch):
    kernel, bias, read = _fake_model(monkeypatch)
    plain = np.argmax(TEST[0] @ KERNEL + BIAS, axis=1)
    assert plain.tolist() == [0, 0, 0]  # the trained classifier: every test image to the head class
    said = []
    out = ncm.rescored(model_result(False, 1), said.append)
    means = np.stack([TRAIN[0][TRAIN[1] == c].mean(axis=0) for c in range(3)])
    cosine = (TEST[0] / np.linalg.norm(TEST[0], axis=1, keepdims=True)) @ (
        means / np.linalg.norm(means, axis=1, keepdims=True)).T
    assert np.argmax(cosine, axis=1).tolist() == [1, 2, 0]
    assert out.slices["overall"]["top1_accuracy"] == 1.0 and out.slices["tail"]["top1_accuracy"] == 1.0
    assert out.class_hits.tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [2, 1, 1, 1]]
    assert out.variant == "baseline+ncm" and out.config.long_tail.adjustment == "ncm"
    assert out.intervals == {} and out.blessed is None
    assert said == ["baseline+ncm, seed 1: class means of 5 training images; validation top-1 100.0%; "
                    "test top-1 100.0%"]
    # The training split probed in two passes (3 dimensions, 2 per pass), then scored.
    assert read == ["Split-train", "Split-train", "Split-validation", "Split-eval"]
    np.testing.assert_array_equal(kernel.numpy(), KERNEL)
    np.testing.assert_array_equal(bias.numpy(), BIAS)


def test_a_model_scored_on_validation_is_not_scored_twice(monkeypatch):
    _, _, read = _fake_model(monkeypatch)
    model = dataclasses.replace(model_result(False, 1), split="validation",
                                eval_examples_dir="/x/Examples/1/Split-validation")
    said = []
    out = ncm.rescored(model, said.append)
    assert read.count("Split-validation") == 1 and "Split-eval" not in read
    assert said == ["baseline+ncm, seed 1: class means of 5 training images; validation top-1 100.0%"]
    assert out.slices["overall"]["example_count"] == 3


def test_a_class_without_training_images_is_a_clear_error(monkeypatch):
    _fake_model(monkeypatch)
    monkeypatch.setattr(ncm, "class_means", lambda x, labels, classes: np.zeros((3, classes)) + [[1, 0, 1]] * 3)
    with pytest.raises(RunResultsError, match="1 classes have no training image in /x/Examples/1/Split-train"):
        ncm.rescored(model_result(False, 1))


# Both methods that read features through the probe (crt: evaluation/crt_rescoring.py).
@pytest.mark.parametrize("rescored", [ncm.rescored, crt.rescored], ids=["ncm", "crt"])
def test_cosine_classifiers_and_rebalanced_models_are_refused(rescored):
    cosine = model_result(False, 1)
    cosine.config.model.classifier = "cosine"
    with pytest.raises(ValueError, match="cosine classifier normalises its own weights"):
        rescored(cosine)
    with pytest.raises(ValueError, match="already re-balanced"):
        rescored(model_result(False, 1, "posthoc"))
    with pytest.raises(ValueError, match="already re-balanced"):
        rescored(model_result(False, 1, "ncm"))


def test_ncm_is_a_rescoring_method_by_name():
    assert rescoring.rescoring_methods(["ncm", "posthoc"]) == ("posthoc", "ncm")
    assert rescoring.rescored_names([model_result(False, 1).config], ["ncm"]) == ["baseline+ncm"]
    assert "nearest class mean" in rescoring.DESCRIPTIONS["ncm"]
