"""Word ranks -> the token ids the semantic stream reads (shared by Transform and export).

Ranks are positions in the word vocabulary, most frequent first. The paper (4.1) drops
the most and the least frequent words: ranks below floor(drop_most * V) and from
V - floor(drop_least * V) on (out-of-vocabulary ranks, >= V, included). The kept ranks
are shifted by one so that id 0 is padding, cut to ``max_tokens`` and padded.
"""

from __future__ import annotations

import tensorflow as tf


def keep_word_ranks(ranks: tf.RaggedTensor, vocab_size, drop_most: float, drop_least: float) -> tf.RaggedTensor:
    size = tf.cast(vocab_size, tf.float32)
    low = tf.cast(tf.floor(drop_most * size), tf.int64)
    high = tf.cast(size, tf.int64) - tf.cast(tf.floor(drop_least * size), tf.int64)
    return tf.ragged.boolean_mask(ranks, (ranks >= low) & (ranks < high))


def padded_token_ids(ranks: tf.RaggedTensor, max_tokens: int) -> tuple[tf.Tensor, tf.Tensor]:
    """([B, max_tokens] ids with 0 = padding, [B] lengths)."""
    ids = ranks[:, :max_tokens] + 1
    return ids.to_tensor(default_value=0, shape=[None, max_tokens]), tf.cast(ids.row_lengths(), tf.int64)
