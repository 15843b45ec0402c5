"""cRT (models/classifier_retraining.py): Kang et al.'s class-aware sampler and the
classifier trained again on fixed features, on data whose answer is known."""

import dataclasses

import numpy as np
import pytest

from models.classifier_rebalancing import ADJUSTMENTS, rebalanced
from models.classifier_retraining import (
    RetrainingSettings,
    class_aware_indices,
    fit_order,
    retrained_classifier,
    settings_from_config,
)
from sicot.config import load_config


def test_the_sampler_draws_every_class_equally_often_in_runs_of_samples_per_class():
    labels = np.array([0] * 50 + [1] * 5 + [2] * 1 + [4] * 2)  # class 3 has no example
    rng = np.random.default_rng(0)
    drawn = class_aware_indices(labels, 4 * 4 * 30, samples_per_class=4, rng=rng)
    classes = labels[drawn]
    assert np.bincount(classes, minlength=5).tolist() == [120, 120, 120, 0, 120]
    runs = classes.reshape(-1, 4)
    assert (runs == runs[:, :1]).all()  # 4 consecutive samples of one class
    # Each pass over the classes takes each class once, in a new order.
    passes = runs[:, 0].reshape(-1, 4)
    assert all(sorted(p) == [0, 1, 2, 4] for p in passes)
    assert len({tuple(p) for p in passes}) > 1
    # A class's examples are cycled: all of them before any again.
    head = drawn[classes == 0]
    assert len(set(head[:50].tolist())) == 50 and sorted(head[:50]) == list(range(50))


def test_the_sampler_finds_each_class_s_examples_in_unsorted_labels():
    labels = np.random.default_rng(4).permutation([0] * 7 + [3] * 2 + [9] * 5)
    drawn = class_aware_indices(labels, 3 * 2 * 7, samples_per_class=2, rng=np.random.default_rng(1))
    runs = drawn.reshape(-1, 2)
    assert (labels[runs] == labels[runs[:, :1]]).all()  # each run is one class's examples
    for c, n in ((0, 7), (3, 2), (9, 5)):
        mine = drawn[labels[drawn] == c]
        assert sorted(mine[:n]) == sorted(np.flatnonzero(labels == c))  # all of them, once, first


def test_the_sampler_is_reproducible_and_cuts_at_count():
    labels = np.array([0, 0, 0, 1])
    a = class_aware_indices(labels, 7, 2, np.random.default_rng(3))
    b = class_aware_indices(labels, 7, 2, np.random.default_rng(3))
    assert len(a) == 7 and a.tolist() == b.tolist()
    with pytest.raises(ValueError, match="at least one labelled example"):
        class_aware_indices(np.array([], dtype=np.int64), 3, 1, np.random.default_rng(0))


def test_the_sampler_carries_over_from_one_epoch_to_the_next():
    # Epochs of 3 runs of 2 over 2 classes of 3 examples each, so each epoch ends in
    # the middle of a class's cycle. One sampler for the whole fit finishes that cycle
    # in the next epoch: over 40 epochs, a class's examples are drawn equally often,
    # give or take one. A sampler started again each epoch draws the first examples of
    # each new cycle more often; its counts drift apart (for every one of 50 seeds
    # tried, by 2 or more).
    labels = np.array([0, 0, 0, 1, 1, 1])
    orders = fit_order(labels, epochs=40, steps=3, batch_size=2, samples_per_class=2,
                       rng=np.random.default_rng(5))
    assert orders.shape == (40, 6)
    drawn = np.bincount(orders.ravel(), minlength=6)
    assert drawn.sum() == 240
    assert np.ptp(drawn[:3]) <= 1 and np.ptp(drawn[3:]) <= 1


def _overlapping_classes(head: int, tail: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """1-d features (and a constant), class 0 around -1, class 1 around +1, sd 1."""
    x = np.concatenate([rng.normal(-1.0, 1.0, head), rng.normal(1.0, 1.0, tail)])
    return np.stack([x, np.ones_like(x)], axis=1), np.array([0] * head + [1] * tail)


def test_the_boundary_is_the_class_balanced_one_not_the_priors():
    # 1000 head vs 10 tail images: a classifier fitted to the images as they come moves
    # its boundary ln(100) / 2 = 2.3 towards the tail; balanced sampling keeps it near 0.
    rng = np.random.default_rng(1)
    x, y = _overlapping_classes(1000, 10, rng)
    kernel, bias = retrained_classifier(x, y, 2, seed=2)
    w = kernel[:, 1] - kernel[:, 0]
    boundary = -(w[1] + bias[1] - bias[0]) / w[0]
    assert w[0] > 0 and abs(boundary) < 0.6


def test_separable_classes_are_learned_from_a_fresh_start_and_the_seed_decides_the_start():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (6, 8))
    y = np.repeat(np.arange(6), [40, 20, 10, 3, 1, 1])
    x = centres[y] + rng.normal(0, 0.3, (len(y), 8))
    kernel, bias = retrained_classifier(x, y, 6, seed=4)
    assert np.argmax(x @ kernel + bias, axis=1).tolist() == y.tolist()
    again, _ = retrained_classifier(x, y, 6, seed=4)
    other, _ = retrained_classifier(x, y, 6, seed=5)
    np.testing.assert_array_equal(kernel, again)
    assert not np.allclose(kernel, other)


def test_unknown_labels_are_left_out_and_a_class_without_examples_is_never_predicted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)) + np.repeat([[2.0, 0, 0, 0], [0, 2.0, 0, 0]], 10, axis=0)
    y = np.repeat([0, 1], 10)
    with_unknown = y.copy()
    with_unknown[[0, 10]] = [-1, 3]  # no class, and a class id beyond the 3 classes
    settings = RetrainingSettings(epochs=3)
    kernel, bias = retrained_classifier(x, with_unknown, 3, settings, seed=1)
    known = with_unknown >= 0
    known[10] = False
    expected, expected_bias = retrained_classifier(x[known], y[known], 3, settings, seed=1)
    np.testing.assert_array_equal(kernel, expected)
    np.testing.assert_array_equal(bias, expected_bias)
    assert 2 not in np.argmax(x @ kernel + bias, axis=1)  # class 2 has no example
    with pytest.raises(ValueError, match="none has a known label"):
        retrained_classifier(x, np.full(20, -1), 3)


def test_crt_is_an_adjustment_that_replaces_the_weights_and_reads_its_settings():
    assert "crt" in ADJUSTMENTS
    with pytest.raises(ValueError, match="crt replaces the weights by a classifier trained again"):
        rebalanced(np.zeros((2, 2)), np.zeros(2), "crt", 1.0, np.zeros(2))
    defaults = settings_from_config(load_config())
    assert defaults == RetrainingSettings()  # Kang et al.'s ImageNet-LT recipe
    assert dataclasses.astuple(defaults) == (10, 512, 0.2, 0.9, 5e-4, 4)
    tuned = settings_from_config(load_config(None, ["long_tail.crt_epochs=3", "long_tail.crt_samples_per_class=1"]))
    assert (tuned.epochs, tuned.samples_per_class) == (3, 1)
