import keras
import numpy as np
import pytest
import tensorflow as tf

from models.title_word_prediction import (
    TitleWordPredictor,
    sampled_word_prediction_loss,
    word_prediction_loss,
    word_targets,
)


def test_targets_are_the_titles_words_without_padding():
    ids = tf.constant([[3, 5, 3, 0], [0, 0, 0, 0]], dtype=tf.int64)
    np.testing.assert_array_equal(word_targets(ids, 6).numpy(), [[0, 0, 0, 1, 0, 1], [0] * 6])


def test_ids_outside_the_vocabulary_are_left_out_and_the_batch_may_be_unknown():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int64)])
    def targets(ids):
        return word_targets(ids, 4)

    np.testing.assert_array_equal(targets(tf.constant([[2, 9, 2], [4, 1, 0]], tf.int64)).numpy(),
                                  [[0, 0, 1, 0], [0, 1, 0, 0]])


def test_loss_is_the_mean_binary_cross_entropy_over_real_words():
    ids = tf.constant([[1, 2]], dtype=tf.int64)
    logits = tf.constant([[9.0, 2.0, -1.0, 0.5]])  # column 0 (padding) is ignored
    p = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.5])))
    expected = -(np.log(p[0]) + np.log(p[1]) + np.log(1 - p[2])) / 3
    assert float(word_prediction_loss(logits, ids)[0]) == pytest.approx(expected, rel=1e-5)


def test_head_shape_and_config():
    head = TitleWordPredictor(7, name="words")
    assert head(tf.zeros((2, 4))).shape == (2, 7)
    assert TitleWordPredictor.from_config(head.get_config()).vocab_size == 7


def _head(vocab, dim=5, seed=0, word_rows=False):
    keras.utils.set_random_seed(seed)
    head = TitleWordPredictor(vocab, word_rows=word_rows)
    head.build((None, dim))
    bias = head.bias if word_rows else head.head.bias
    bias.assign(tf.random.normal([vocab]))
    return head


def _kernel(head):
    return head.rows if head.word_rows else head.head.kernel


def test_both_layouts_are_the_same_linear_map():
    dense, rows = _head(9), _head(9, word_rows=True)
    rows.rows.assign(tf.transpose(dense.head.kernel))
    rows.bias.assign(dense.head.bias)
    x = tf.random.normal((2, 5))
    np.testing.assert_allclose(rows(x).numpy(), dense(x).numpy(), rtol=1e-5, atol=1e-6)
    ids = tf.constant([4, 1, 7])
    for head in (dense, rows):
        np.testing.assert_allclose(head.column_logits(x, ids).numpy(), dense(x).numpy()[:, [4, 1, 7]],
                                   rtol=1e-5, atol=1e-6)
    assert TitleWordPredictor.from_config(rows.get_config()).word_rows


@pytest.mark.parametrize("word_rows", [False, True])
def test_the_sampled_estimate_is_unbiased(word_rows):
    vocab = 40
    head = _head(vocab, word_rows=word_rows)
    x = tf.random.normal((3, 5))
    ids = tf.constant([[3, 5, 3, 0], [7, 0, 0, 0], [0, 0, 0, 0]], dtype=tf.int64)
    exact = word_prediction_loss(head(x), ids).numpy()
    seed = keras.random.SeedGenerator(1)
    draws = np.stack([sampled_word_prediction_loss(head, x, ids, 6, seed).numpy() for _ in range(600)])
    assert draws.std(axis=0).min() > 0  # an estimate, not the exact loss
    # The mean of the draws is the exact loss, within 4 standard errors.
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - exact), 4 * draws.std(axis=0) / np.sqrt(len(draws)))


def test_the_sampled_estimate_is_exact_when_the_batch_holds_every_word():
    head = _head(6)
    x = tf.random.normal((2, 5))
    ids = tf.constant([[1, 2, 3], [4, 5, 0]], dtype=tf.int64)
    np.testing.assert_allclose(sampled_word_prediction_loss(head, x, ids, 4, 0).numpy(),
                               word_prediction_loss(head(x), ids).numpy(), rtol=1e-6)


@pytest.mark.parametrize("word_rows", [False, True])
def test_the_sampled_estimate_reads_only_the_batchs_words_and_the_draws(word_rows):
    vocab = 1000
    head = _head(vocab, word_rows=word_rows)
    x = tf.random.normal((2, 5))
    ids = tf.constant([[3, 9], [9, 0]], dtype=tf.int64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(sampled_word_prediction_loss(head, x, ids, 8, 0))
    grad = tape.gradient(loss, _kernel(head))
    # The row layout's gradient is the rows read (what a row-sparse update needs).
    assert isinstance(grad, tf.IndexedSlices) == word_rows
    grad = tf.convert_to_tensor(grad).numpy()
    touched = set(np.flatnonzero(np.abs(grad).sum(axis=1 if word_rows else 0)).tolist())
    assert {3, 9} <= touched and len(touched) <= 2 + 8 and 0 not in touched
