"""Title word prediction: from the image alone, predict which words its title holds.

    L_words = mean over titled images of  BCE(sigmoid(A x_v + c), t)     t in {0,1}^V

where t is the title's multi-hot over the word vocabulary (the token ids the semantic
stream reads, padding and unknown words left out) and A, c a linear head on the visual
feature, used in training only (not exported). Added to the loss with weight
``model.title_word_prediction_weight``.

Why: the words of seller titles are shared across SKUs (cat, heart, hand, skin tone,
face; 猫, 心), and across the vendors that draw them. Predicting them from pixels asks
the backbone for features of the concept, which every vendor's drawing of a cat
shares, rather than of one vendor's style: supervision that a tail SKU with one photo
gets from every head SKU with the same words. It is the direct way for titles, used
in training only, to reach the backbone (the mixed stream reaches it only through the
max, which measured harmful on the SKU benchmark: docs/issue11_experiments.md,
"Screening, validation split, seed 1").

Parameters: (D + 1) x V (the head; D = 256, V = 2,000 words: 514,000), in either layout.

Sampled estimate (``model.title_word_prediction_negatives`` = N > 0, training only): the
head's cost grows with V (a [B, V] logit matrix a step), which at catalogue-size
vocabularies (the paper's run to 345,000 words) dwarfs a small backbone. With P the
words of the batch's titles and n_1..n_N drawn uniformly from the other words (those
of the N draws, with replacement from 1..V-1, that fall in P are dropped, leaving k),

    L_words ~= ( sum_{w in P} BCE_w  +  (V - 1 - |P|) / k * sum_{i<=k} BCE_{n_i}(t = 0) ) / (V - 1)

per image: the words outside P are negatives for every image of the batch, and the
kept draws are a uniform sample of them, so the estimate's expectation is the exact
loss (and so is its gradient's). It costs [B, |P| + N] logits instead of [B, V].
Evaluation (training false) computes the exact loss.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sicot")
class TitleWordPredictor(keras.layers.Layer):
    """[B, D] visual features -> [B, V] word logits (V = the embedding table's rows, id 0 unused).

    word_rows false: a Dense layer ([D, V] kernel, "word_logits"). word_rows true (the
    sampled estimate's layout): one [D] row per word ("word_rows", [V, D]) and a bias
    ("word_bias", [V]), the same linear map, from which ``column_logits`` gathers a step's
    words as rows: with ``train.row_sparse_updates`` (training/row_sparse_sgd.py) a step
    then updates only the rows it read.
    """

    def __init__(self, vocab_size: int, word_rows: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.word_rows = word_rows
        self.head = None if word_rows else keras.layers.Dense(vocab_size, name="word_logits")

    def build(self, input_shape):
        if self.word_rows:
            self.rows = self.add_weight(shape=(self.vocab_size, input_shape[-1]), initializer="glorot_uniform",
                                        name="word_rows")
            self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="word_bias")
        else:
            self.head.build(input_shape)

    def call(self, features):
        if self.word_rows:
            return tf.matmul(features, self.rows, transpose_b=True) + self.bias
        return self.head(features)

    def column_logits(self, features: tf.Tensor, word_ids: tf.Tensor) -> tf.Tensor:
        """[B, D] features, [K] word ids -> [B, K]: the logits of these words only."""
        if self.word_rows:  # a gather on the variables: the gradient is the K rows
            rows = tf.nn.embedding_lookup(self.rows.value, word_ids)
            return tf.matmul(features, rows, transpose_b=True) + tf.nn.embedding_lookup(self.bias.value, word_ids)
        return tf.matmul(features, tf.gather(self.head.kernel, word_ids, axis=1)) + tf.gather(self.head.bias, word_ids)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "word_rows": self.word_rows}


def word_targets(token_ids: tf.Tensor, vocab_size: int) -> tf.Tensor:
    """[B, L] token ids (0 = padding) -> [B, V] multi-hot of the title's words.

    A per-row bincount: it never builds the [B, L, V] one-hot (at V = 20,000 words that
    one tensor took most of this head's cost; bench/cotraining_step_time.py). Ids outside
    [0, V) are left out, as ``tf.one_hot`` leaves them out.
    """
    hot = tf.math.bincount(tf.cast(token_ids, tf.int32), minlength=vocab_size, maxlength=vocab_size,
                           axis=-1, binary_output=True, dtype=tf.float32)
    return tf.concat([tf.zeros_like(hot[:, :1]), hot[:, 1:]], axis=1)  # id 0 is padding


def word_prediction_loss(logits: tf.Tensor, token_ids: tf.Tensor) -> tf.Tensor:
    """[B] mean binary cross-entropy over the vocabulary (column 0, padding, left out)."""
    targets = word_targets(token_ids, logits.shape[-1] or tf.shape(logits)[-1])
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_mean(bce[:, 1:], axis=1)


def sampled_word_prediction_loss(predictor: TitleWordPredictor, features: tf.Tensor, token_ids: tf.Tensor,
                                 negatives: int, seed) -> tf.Tensor:
    """[B] the unbiased sampled estimate of ``word_prediction_loss`` (module docstring).

    predictor: the built head; features: [B, D] visual features; token_ids: [B, L]
    (0 = padding); negatives: N draws of other words a step; seed: a keras
    SeedGenerator (or an int).
    """
    vocab_size = predictor.vocab_size
    ids = tf.cast(token_ids, tf.int32)
    flat = tf.reshape(ids, [-1])
    positives, _ = tf.unique(tf.boolean_mask(flat, (flat > 0) & (flat < vocab_size)))
    drawn = keras.random.randint([negatives], 1, vocab_size, dtype="int32", seed=seed)
    in_batch = tf.reduce_any(tf.equal(drawn[:, None], positives[None, :]), axis=1)
    others = tf.boolean_mask(drawn, tf.logical_not(in_batch))
    columns = tf.concat([positives, others], axis=0)
    logits = predictor.column_logits(features, columns)
    n_pos = tf.shape(positives)[0]
    targets = tf.cast(tf.reduce_any(tf.equal(ids[:, :, None], positives[None, None, :]), axis=1), tf.float32)
    targets = tf.concat([targets, tf.zeros([tf.shape(ids)[0], tf.shape(others)[0]])], axis=1)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    kept = tf.cast(tf.shape(others)[0], tf.float32)
    rest = tf.cast(vocab_size - 1 - n_pos, tf.float32)
    negative_sum = tf.reduce_sum(bce[:, n_pos:], axis=1) * tf.math.divide_no_nan(rest, kept)
    return (tf.reduce_sum(bce[:, :n_pos], axis=1) + negative_sum) / float(vocab_size - 1)
