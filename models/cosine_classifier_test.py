import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.cosine_classifier import CosineClassifier, margin_logits
from models.sharded_classifier import ShardedClassifier, sharded_softmax_cross_entropy

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 8)).astype(np.float32)
Y = np.array([0, 4, 6, 2, 9, 4])


def _dense(margin_type="cosface", margin=0.2):
    layer = CosineClassifier(10, scale=12.0, margin=margin, margin_type=margin_type)
    layer.build((None, 8))
    return layer


def test_logits_are_the_scaled_cosine_plus_bias():
    layer = _dense()
    kernel = layer.kernel.numpy()
    cos = (X / np.linalg.norm(X, axis=1, keepdims=True)) @ (kernel / np.linalg.norm(kernel, axis=0, keepdims=True))
    np.testing.assert_allclose(layer(X).numpy(), 12.0 * cos, rtol=1e-5, atol=1e-5)
    assert not layer.bias.trainable and [w.name for w in layer.trainable_weights] == ["kernel"]


@pytest.mark.parametrize("margin_type", ["cosface", "arcface"])
def test_the_margin_touches_the_true_class_only(margin_type):
    layer = _dense(margin_type)
    logits = layer(X)
    margined = layer.margin_logits(logits, tf.constant(Y)).numpy()
    changed = ~np.isclose(margined, logits.numpy())
    assert (changed == np.eye(10, dtype=bool)[Y]).all()
    label_cos = logits.numpy()[np.arange(6), Y] / 12.0
    if margin_type == "cosface":
        expected = 12.0 * (label_cos - 0.2)
    else:
        theta = np.arccos(label_cos)
        expected = 12.0 * np.where(theta + 0.2 < math.pi, np.cos(theta + 0.2),
                                   label_cos - math.sin(math.pi - 0.2) * 0.2)
    np.testing.assert_allclose(margined[np.arange(6), Y], expected, rtol=1e-5, atol=1e-5)
    assert np.all(margined[np.arange(6), Y] < logits.numpy()[np.arange(6), Y])  # the label must win by more


def test_arcface_gradients_stay_finite_where_the_cosine_is_plus_or_minus_one():
    kernel = tf.Variable(np.stack([X[0], -X[1]], axis=1))  # class 0 = x0's direction, class 1 = -x1's
    bias = tf.zeros(2)
    for x, label in ((X[:1], 0), (X[1:2], 1)):  # cos = +1 and cos = -1 at the label
        with tf.GradientTape() as tape:
            logits = 10.0 * tf.matmul(tf.math.l2_normalize(x, -1), tf.math.l2_normalize(kernel, 0))
            loss = tf.reduce_sum(margin_logits(logits, tf.constant([label]), bias, 10.0, 0.5, "arcface"))
        grad = tape.gradient(loss, kernel).numpy()
        assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("margin_type", ["cosface", "arcface"])
def test_sharded_equals_unsharded(margin_type):
    dense = _dense(margin_type)
    sharded = ShardedClassifier(10, 3, normalized=True, scale=12.0, margin=0.2, margin_type=margin_type)
    sharded.build((None, 8))
    kernel = dense.kernel.numpy()
    for k, offset in zip(sharded.kernels, sharded.offsets):
        # Each shard normalises its own columns: scaling a column changes nothing.
        k.assign(3.0 * kernel[:, offset: offset + k.shape[1]])
    np.testing.assert_allclose(sharded(X).numpy(), dense(X).numpy(), rtol=1e-5, atol=1e-5)
    y = tf.constant(Y)
    dense_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(y, dense.margin_logits(dense(X), y))
    positions = sharded.label_positions(y)
    sharded_ce = sharded_softmax_cross_entropy(sharded.margin_logits(sharded.shard_logits(X), positions), positions)
    np.testing.assert_allclose(sharded_ce.numpy(), dense_ce.numpy(), rtol=1e-5, atol=1e-5)
    probabilities, ids = sharded.top_k(X, 3)
    dense_probabilities = tf.nn.softmax(dense(X)).numpy()
    np.testing.assert_allclose(probabilities.numpy(), -np.sort(-dense_probabilities, axis=1)[:, :3], rtol=1e-5)


def test_config_and_keras_file_round_trip(tmp_path):
    layer = CosineClassifier(10, scale=20.0, margin=0.3, margin_type="arcface", name="classifier")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "cosine.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    clone = restored.get_layer("classifier")
    assert (clone.scale, clone.margin, clone.margin_type) == (20.0, 0.3, "arcface")
    np.testing.assert_allclose(restored(X).numpy(), model(X).numpy(), rtol=1e-6)
    sharded = ShardedClassifier(10, 2, normalized=True, scale=5.0, margin=0.1)
    config = ShardedClassifier.from_config(sharded.get_config()).get_config()
    assert (config["normalized"], config["scale"], config["margin"]) == (True, 5.0, 0.1)
    with pytest.raises(ValueError, match="unknown model.cosine_margin_type"):
        CosineClassifier(3, margin_type="sphere")
