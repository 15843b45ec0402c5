import keras
import numpy as np
import pytest

from models.classifier_rebalancing import apply_rebalancing, best_tau, full_weights, rebalanced, select_tau
from models.sharded_classifier import ShardedClassifier

RNG = np.random.default_rng(0)
KERNEL = RNG.normal(size=(4, 5)).astype(np.float32)
BIAS = RNG.normal(size=5).astype(np.float32)
LOG_PRIOR = np.log(np.array([0.5, 0.3, 0.1, 0.07, 0.03]))


def test_posthoc_subtracts_tau_log_prior_from_the_logits():
    x = RNG.normal(size=(3, 4))
    k, b = rebalanced(KERNEL, BIAS, "posthoc", 0.7, LOG_PRIOR)
    np.testing.assert_allclose(x @ k + b, x @ KERNEL + BIAS - 0.7 * LOG_PRIOR, rtol=1e-6)


def test_tau_norm_divides_each_class_by_its_norm_to_the_tau_and_drops_the_bias():
    k, b = rebalanced(KERNEL, BIAS, "tau_norm", 1.0, LOG_PRIOR)
    np.testing.assert_allclose(np.linalg.norm(k, axis=0), 1.0, rtol=1e-6)
    assert not b.any()
    k0, _ = rebalanced(KERNEL, BIAS, "tau_norm", 0.0, LOG_PRIOR)
    np.testing.assert_allclose(k0, KERNEL)


@pytest.mark.parametrize("adjustment", ["posthoc", "tau_norm"])
def test_sharded_classifier_is_rebalanced_like_the_dense_one(adjustment):
    dense = keras.layers.Dense(5)
    dense.build((None, 4))
    dense.set_weights([KERNEL, BIAS])
    sharded = ShardedClassifier(5, 2)
    sharded.build((None, 4))
    for kernel, bias, first in zip(sharded.kernels, sharded.biases, sharded.offsets):
        kernel.assign(KERNEL[:, first: first + kernel.shape[1]])
        bias.assign(BIAS[first: first + bias.shape[0]])
    for layer in (dense, sharded):
        apply_rebalancing(layer, adjustment, 0.5, LOG_PRIOR)
    x = RNG.normal(size=(6, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(sharded(x)), np.asarray(dense(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(full_weights(sharded)[0], full_weights(dense)[0], rtol=1e-6)


def test_tau_is_chosen_on_validation_accuracy():
    # Two classes, class 0 the head: its bias is large, so every example goes to class 0.
    kernel = np.eye(2, dtype=np.float32)
    bias = np.array([2.0, 0.0], dtype=np.float32)
    log_prior = np.log(np.array([0.9, 0.1]))
    features = np.array([[1.0, 1.5], [1.2, 1.1], [2.0, 0.0]], dtype=np.float32)
    labels = np.array([1, 1, 0])
    tau, accuracy = select_tau(features, labels, kernel, bias, "posthoc", [0.0, 0.5, 1.0], log_prior)
    # tau 0: [3.0 vs 1.5], [3.2 vs 1.1] -> both tail examples wrong; tau 1 shifts by log 9 = 2.2.
    assert accuracy[0.0] == pytest.approx(1 / 3) and accuracy[1.0] == pytest.approx(1.0)
    assert tau == 1.0


def test_best_tau_takes_the_smaller_tau_on_a_tie():
    assert best_tau({0.5: 0.3, 1.0: 0.4, 2.0: 0.4}) == 1.0
    assert best_tau({2.0: 0.1, 0.25: 0.1}) == 0.25
    with pytest.raises(ValueError, match="adjustment_taus is empty"):
        best_tau({})
    with pytest.raises(ValueError, match="adjustment_taus is empty"):
        select_tau(np.zeros((2, 4)), np.array([0, 1]), KERNEL, BIAS, "posthoc", [], LOG_PRIOR)

