import numpy as np
import pytest
import tensorflow as tf

from models.title_word_prediction import TitleWordPredictor, word_prediction_loss, word_targets


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
