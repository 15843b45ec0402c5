"""Tau-norm re-scoring: the classifier edit on real SavedModels (Dense and sharded), the
tau rule on a fake evaluation model with real variables (the trained pair end to end in
tests/evaluation_report_e2e_test.py)."""

import dataclasses
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from evaluation import tau_norm_rescoring as tau_norm
from evaluation.run_results import RunResultsError
from models import features
from models.classifier_rebalancing import rebalanced, select_tau
from models.export import ServingModule
from models.sharded_classifier import ShardedClassifier
from sicot.config import load_config
from tests import fake_evaluation_model
from tests.model_results import model_result
from tests.tiny_serving import LABELS, SIZE, VocabularyOnly, png

RNG = np.random.default_rng(3)


def _exported(tmp_path, shards: int):
    """A saved image model whose classifier layer is named as models/sicot_model.py names it."""
    keras.utils.set_random_seed(0)
    pixels = keras.Input((SIZE, SIZE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(pixels)
    head = (keras.layers.Dense(len(LABELS), name="classifier") if shards == 1
            else ShardedClassifier(len(LABELS), shards, name="classifier"))
    model = keras.Model(pixels, head(keras.layers.Dense(4, name="visual_projection")(pooled)))
    serving = _serving(model)
    tf.saved_model.save(serving, str(tmp_path / f"m{shards}"), signatures=serving.signatures())
    return model, tf.saved_model.load(str(tmp_path / f"m{shards}"))


def _serving(model):
    return ServingModule(model, VocabularyOnly(), load_config(None, [f"preprocessing.image_size={SIZE}"]))


def _examples():
    images = [png(tuple(int(c) for c in RNG.integers(0, 256, 3))) for _ in range(6)]
    return tf.constant([tf.train.Example(features=tf.train.Features(feature={
        features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[i]))})).SerializeToString()
        for i in images])


@pytest.mark.parametrize("shards", [1, 2])
def test_the_loaded_models_classifier_is_edited_in_memory_and_restored(tmp_path, shards):
    model, loaded = _exported(tmp_path, shards)
    parts = tau_norm.classifier_variables(loaded)
    assert len(parts) == shards
    assert sum(k.shape[1] for k, _ in parts) == len(LABELS) and all(k.shape[0] == 4 for k, _ in parts)
    examples = _examples()
    predict = loaded.signatures["predict_examples"]
    before = predict(examples=examples)["probabilities"].numpy()
    kernel = np.concatenate([k.numpy() for k, _ in parts], axis=1)
    bias = RNG.normal(size=len(LABELS))
    new_kernel, new_bias = rebalanced(kernel, bias, "tau_norm", 0.7, np.zeros(len(LABELS)))
    with tau_norm.classifier_weights(parts, new_kernel, new_bias):
        edited = predict(examples=examples)["probabilities"].numpy()
    np.testing.assert_array_equal(predict(examples=examples)["probabilities"].numpy(), before)  # restored
    # The expectation: the Keras model itself with the re-balanced weights set, served again.
    classifier = model.get_layer("classifier")
    for k, b, first in (zip(classifier.kernels, classifier.biases, classifier.offsets) if shards > 1
                        else [(classifier.kernel, classifier.bias, 0)]):
        k.assign(new_kernel[:, first: first + k.shape[1]].astype(np.float32))
        b.assign(new_bias[first: first + k.shape[1]].astype(np.float32))
    served = _serving(model)  # held: a tf.function method keeps only a weak reference to its module
    expected = served.predict_examples(examples)["probabilities"].numpy()
    np.testing.assert_allclose(edited, expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(edited, before, atol=1e-3)


def test_a_model_without_a_classifier_kernel_and_bias_is_a_clear_error():
    loaded = types.SimpleNamespace(exported_variables=[tf.Variable(np.zeros((2, 3)), name="classifier/kernel"),
                                                       tf.Variable(np.zeros(3), name="visual/bias")])
    with pytest.raises(RunResultsError, match="/m: no classifier kernel and bias"):
        tau_norm.classifier_variables(loaded, "/m")


# The fake evaluation model: real variables, logits = features @ kernel + bias. Class 0
# (the head, 90 training images) has the largest weight vector, so it wins the plain
# argmax on the tail images; dividing by the norm brings the tail classes back.
KERNEL = np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.8]])
BIAS = np.array([0.5, 0.0, 0.0])
VALIDATION = (np.array([[1.0, 2.5, 0.0], [0.8, 0.0, 3.2], [1.0, 0.2, 0.1], [0.9, 2.0, 0.0], [1.0, 0.5, 0.0]]),
              np.array([1, 2, 0, 1, 0]))  # top-1 at tau 0.25, 1, 2: 4/5, 5/5, 4/5
TEST = (np.array([[0.9, 2.4, 0.0], [1.0, 0.1, 0.0]]), np.array([1, 0]))


def _fakemodel_result(monkeypatch):
    kernel, bias, _ = fake_evaluation_model.install(monkeypatch, tau_norm, KERNEL, BIAS,
                                                    {"Split-validation": VALIDATION, "Split-eval": TEST})
    return kernel, bias


def test_tau_is_the_trainers_choice_and_the_model_is_scored_with_it(monkeypatch):
    kernel, bias = _fakemodel_result(monkeypatch)
    model = model_result(False, 1)  # taus 0.25, 1, 2; scored on test (Split-eval)
    said = []
    out = tau_norm.rescored(model, said.append)
    # The Trainer's rule on the same validation features picks the same tau with the same top-1s.
    tau, accuracy = select_tau(*VALIDATION, KERNEL, BIAS, "tau_norm", [0.25, 1.0, 2.0], np.zeros(3))
    assert said == [f"baseline+tau_norm, seed 1: validation top-1 by tau "
                    f"{', '.join(f'{t:g}: {100 * a:.1f}%' for t, a in accuracy.items())}; tau = {tau:g}; "
                    f"test top-1 100.0%"]
    assert tau == 1.0 and accuracy[0.25] < accuracy[1.0]
    # Plain, the tail test image goes to the head class (0.9 * 3 + 0.5 > 2.4); at tau 1 it is right.
    assert out.slices["overall"]["top1_accuracy"] == 1.0 and out.slices["tail"]["top1_accuracy"] == 1.0
    assert out.variant == "baseline+tau_norm" and out.config.long_tail.adjustment == "tau_norm"
    assert out.intervals == {} and out.blessed is None and out.class_hits.tolist() == [[0, 1, 1, 1], [1, 1, 1, 1]]
    np.testing.assert_array_equal(kernel.numpy(), KERNEL)  # the trained weights are back
    np.testing.assert_array_equal(bias.numpy(), BIAS)


def test_a_model_scored_on_validation_keeps_the_chosen_taus_scores(monkeypatch):
    _fakemodel_result(monkeypatch)
    model = dataclasses.replace(model_result(False, 1), split="validation",
                                eval_examples_dir="/x/Examples/1/Split-validation")
    out = tau_norm.rescored(model)
    _, accuracy = select_tau(*VALIDATION, KERNEL, BIAS, "tau_norm", [0.25, 1.0, 2.0], np.zeros(3))
    assert accuracy == {0.25: 0.8, 1.0: 1.0, 2.0: 0.8}
    assert out.slices["overall"]["top1_accuracy"] == 1.0  # tau 1's scores, not the last tau's
    assert out.slices["overall"]["example_count"] == 5


def test_an_already_rebalanced_model_is_refused():
    with pytest.raises(ValueError, match="already re-balanced"):
        tau_norm.rescored(model_result(False, 1, "posthoc"))
