"""Skip-gram word2vec with negative sampling (Mikolov et al., 2013), in TensorFlow.

Trains word vectors on token-id sequences (the training titles after Transform: 0 is
padding, ids 1..V-1 are words), so that the semantic stream can start from vectors that
know which words occur together when no pretrained file is given. Each word predicts
the words within ``window`` positions (title order is kept for this step only);
``negatives`` noise words per pair are drawn from the unigram distribution to the
power 0.75. Returns the target ("input") vectors, row-aligned with the token ids, row 0
(padding) zero.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def skipgram_pairs(sequences: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    targets, contexts = [], []
    for row in sequences:
        words = row[row > 0]
        for i, word in enumerate(words):
            for j in range(max(0, i - window), min(len(words), i + window + 1)):
                if j != i:
                    targets.append(word)
                    contexts.append(words[j])
    return np.asarray(targets, dtype=np.int64), np.asarray(contexts, dtype=np.int64)


def train_skipgram(
    sequences: np.ndarray,
    vocab_size: int,
    dim: int,
    window: int = 2,
    negatives: int = 5,
    epochs: int = 5,
    batch_size: int = 1024,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> np.ndarray:
    """[vocab_size, dim] vectors from [N, L] token-id sequences."""
    rng = np.random.default_rng(seed)
    targets, contexts = skipgram_pairs(np.asarray(sequences), window)
    if targets.size == 0:
        raise ValueError("no word pairs to train on: every title has fewer than two known words")
    counts = np.bincount(np.asarray(sequences).reshape(-1), minlength=vocab_size).astype(np.float64)
    counts[0] = 0.0
    noise = counts**0.75
    noise /= noise.sum()
    tf.random.set_seed(seed)
    word = tf.Variable(rng.uniform(-0.5 / dim, 0.5 / dim, (vocab_size, dim)).astype(np.float32))
    context = tf.Variable(np.zeros((vocab_size, dim), np.float32))
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step(t, c, n):
        with tf.GradientTape() as tape:
            wt = tf.gather(word, t)  # [B, D]
            positive = tf.reduce_sum(wt * tf.gather(context, c), axis=-1)
            negative = tf.einsum("bd,bkd->bk", wt, tf.gather(context, n))
            loss = -tf.reduce_mean(tf.math.log_sigmoid(positive) + tf.reduce_sum(tf.math.log_sigmoid(-negative), -1))
        grads = tape.gradient(loss, [word, context])
        optimizer.apply_gradients(zip(grads, [word, context]))
        return loss

    for _ in range(epochs):
        order = rng.permutation(targets.size)
        for start in range(0, targets.size, batch_size):
            batch = order[start : start + batch_size]
            noise_words = rng.choice(vocab_size, size=(batch.size, negatives), p=noise)
            step(tf.constant(targets[batch]), tf.constant(contexts[batch]), tf.constant(noise_words))
    vectors = word.numpy()
    vectors[0] = 0.0
    return vectors
