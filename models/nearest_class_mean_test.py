import keras
import numpy as np
import pytest

from models.classifier_rebalancing import apply_kernel, apply_rebalancing, full_weights, rebalanced
from models.nearest_class_mean import class_means, classes_without_mean, ncm_kernel
from models.sharded_classifier import ShardedClassifier


def test_class_means_average_each_class_and_skip_unknown_labels():
    x = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0], [9.0, 9.0]])
    means = class_means(x, np.array([0, 0, 2, -1]), 3)
    np.testing.assert_array_equal(means, [[2.0, 0.0, 0.0], [1.0, 0.0, 5.0]])
    assert classes_without_mean(means) == 1
    kernel = ncm_kernel(means)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(kernel[:, 0], [2 / 5**0.5, 1 / 5**0.5])


def test_the_kernel_ranks_by_cosine_to_the_class_means_whatever_the_class_sizes():
    rng = np.random.default_rng(0)
    # Class 0 has 50 images far from the origin, class 1 one image; a linear classifier
    # trained on them would favour class 0, the class means' cosine does not.
    x = np.concatenate([rng.normal([10.0, 1.0], 0.5, (50, 2)), [[1.0, 3.0]]])
    labels = np.array([0] * 50 + [1])
    kernel = ncm_kernel(class_means(x, labels, 2))
    queries = rng.normal(size=(20, 2)) * 5
    means = np.stack([x[labels == c].mean(axis=0) for c in (0, 1)])
    cosine = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
        means / np.linalg.norm(means, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(np.argmax(queries @ kernel, axis=1), np.argmax(cosine, axis=1))
    assert set(np.argmax(cosine, axis=1)) == {0, 1}


def test_apply_kernel_sets_dense_and_sharded_classifiers_alike():
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(4, 5)), np.zeros(5)
    dense = keras.layers.Dense(5)
    dense.build((None, 4))
    sharded = ShardedClassifier(5, 2)
    sharded.build((None, 4))
    for layer in (dense, sharded):
        apply_kernel(layer, kernel, bias)
        np.testing.assert_allclose(full_weights(layer)[0], kernel, rtol=1e-6)
        np.testing.assert_array_equal(full_weights(layer)[1], bias)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(sharded(x)), np.asarray(dense(x)), rtol=1e-5, atol=1e-6)


def test_ncm_is_an_adjustment_but_not_an_edit_of_the_weights():
    with pytest.raises(ValueError, match="ncm replaces the weights by the training features' class means"):
        rebalanced(np.zeros((2, 2)), np.zeros(2), "ncm", 1.0, np.zeros(2))
    dense = keras.layers.Dense(2)
    dense.build((None, 2))
    with pytest.raises(ValueError, match="class means"):
        apply_rebalancing(dense, "ncm", 1.0, np.zeros(2))
