import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.partial_fc import sample_classes, sample_shard_columns, sampled_columns_count, uses_logq_correction
from models.sharded_classifier import ShardedClassifier


def test_sample_holds_every_positive_and_a_share_of_the_rest():
    positions = tf.constant([3, -1, 17, 3, 40], tf.int64)
    columns, remapped, correction = sample_shard_columns(positions, 50, 0.2, seed=7)
    columns = columns.numpy()
    assert len(columns) == 10 == math.ceil(0.2 * 50)
    # 3 positives always in, 7 of the 47 negatives drawn: each negative stands for 47/7.
    is_positive = np.isin(columns, [3, 17, 40])
    np.testing.assert_allclose(correction.numpy()[is_positive], 0.0)
    np.testing.assert_allclose(correction.numpy()[~is_positive], np.log(47 / 7), rtol=1e-6)
    assert {3, 17, 40} <= set(columns.tolist())
    assert len(set(columns.tolist())) == len(columns) and np.all(np.diff(columns) > 0)
    remapped = remapped.numpy()
    assert remapped[1] == -1
    owned = positions.numpy() >= 0
    np.testing.assert_array_equal(columns[remapped[owned]], positions.numpy()[owned])


def test_all_positives_are_kept_when_they_outnumber_the_sample():
    positions = tf.range(12, dtype=tf.int64)
    columns, remapped, _ = sample_shard_columns(positions, 100, 0.01, seed=1)
    assert sorted(columns.numpy().tolist()) == list(range(12))
    np.testing.assert_array_equal(remapped.numpy(), np.arange(12))


def test_negatives_change_with_the_seed_generator_state():
    generator = keras.random.SeedGenerator(3)
    positions = tf.constant([0], tf.int64)
    first, _, _ = sample_shard_columns(positions, 1000, 0.05, generator)
    second, _, _ = sample_shard_columns(positions, 1000, 0.05, generator)
    assert 0 in first.numpy() and 0 in second.numpy()
    assert set(first.numpy().tolist()) != set(second.numpy().tolist())


def test_ratio_must_be_a_share():
    assert sampled_columns_count(10, 1.0) == 10
    assert sampled_columns_count(10, 0.01) == 1
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="partial_fc_ratio must be in"):
            sampled_columns_count(10, bad)


def test_sampled_logits_are_exactly_the_sampled_classes_columns():
    classifier = ShardedClassifier(30, 3)
    x = tf.random.stateless_normal([5, 4], seed=[5, 6])
    full = classifier(x).numpy()
    labels = tf.constant([0, 11, 12, 29, 11])
    sample = sample_classes(classifier, labels, 0.3, seed=2)
    logits = classifier.shard_logits(x, sample.columns)
    for shard_logits, class_ids in zip(logits, sample.class_ids):
        # A gathered-column matmul may sum in another order than the full one: an absolute floor of 1e-6.
        np.testing.assert_allclose(shard_logits.numpy(), full[:, class_ids.numpy()], rtol=1e-6, atol=1e-6)
        assert shard_logits.shape[1] == 3  # ceil(0.3 * 10) per shard, the positives among them
    sampled = np.concatenate([c.numpy() for c in sample.class_ids])
    assert set(labels.numpy().tolist()) <= set(sampled.tolist())
    # The remapped labels point at the labels' own columns: the CE over the sample is the
    # dense CE restricted to the sampled classes.
    loss = classifier.cross_entropy(logits, sample.label_positions).numpy()
    restricted = full[:, sampled]
    index = {c: i for i, c in enumerate(sampled.tolist())}
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(
        [index[int(l)] for l in labels.numpy()], restricted
    ).numpy()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_corrected_partition_function_is_unbiased():
    """E[sum over the sample of exp(logit + correction)] = sum over all classes of exp(logit)."""
    logits = np.random.default_rng(4).normal(size=60).astype("float32")
    positions = tf.constant([5, 9], tf.int64)
    generator = keras.random.SeedGenerator(11)
    estimates = []
    for _ in range(400):
        columns, _, correction = sample_shard_columns(positions, 60, 0.2, generator)
        estimates.append(np.sum(np.exp(logits[columns.numpy()] + correction.numpy())))
    assert np.mean(estimates) == pytest.approx(np.sum(np.exp(logits)), rel=0.03)


def test_logq_correction_defaults_to_on_for_dense_and_off_for_cosine():
    assert uses_logq_correction(None, "dense") is True
    assert uses_logq_correction(None, "cosine") is False
    assert uses_logq_correction(True, "cosine") is True
    assert uses_logq_correction(False, "dense") is False

