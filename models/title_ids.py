"""Word ranks -> the token ids the semantic stream reads (shared by Transform and export).

Ranks are positions in the word vocabulary, most frequent first. The paper (4.1) drops
the most and the least frequent words: ranks below floor(drop_most * V) and from
V - floor(drop_least * V) on (out-of-vocabulary ranks, >= V, included); with
``min_vocabulary`` only when V >= min_vocabulary (out-of-vocabulary ranks are dropped
either way). ``dedupe`` keeps the first copy of a word a title repeats. The kept ranks
are shifted by one so that id 0 is padding, cut to ``max_tokens`` and padded.
"""

from __future__ import annotations

import tensorflow as tf


def keep_word_ranks(
    ranks: tf.RaggedTensor,
    vocab_size,
    drop_most: float,
    drop_least: float,
    min_vocabulary: int = 0,
    dedupe: bool = False,
) -> tf.RaggedTensor:
    size = tf.cast(vocab_size, tf.float32)
    applies = tf.cast(size >= float(min_vocabulary), tf.float32)
    low = tf.cast(tf.floor(applies * drop_most * size), tf.int64)
    high = tf.cast(size, tf.int64) - tf.cast(tf.floor(applies * drop_least * size), tf.int64)
    ranks = tf.ragged.boolean_mask(ranks, (ranks >= low) & (ranks < high))
    return first_occurrences(ranks) if dedupe else ranks


def first_occurrences(ranks: tf.RaggedTensor) -> tf.RaggedTensor:
    """Each row's values without repeats, in the order they first appear."""
    values = tf.cast(ranks.flat_values, tf.int64)
    span = tf.reduce_max(tf.concat([values, [0]], axis=0)) + 1
    _, index = tf.unique(tf.cast(ranks.value_rowids(), tf.int64) * span + values)
    positions = tf.range(tf.size(index), dtype=tf.int32)
    first = tf.math.unsorted_segment_min(positions, index, tf.size(index))
    return tf.ragged.boolean_mask(ranks, ranks.with_flat_values(tf.gather(first, index) == positions))


def padded_token_ids(ranks: tf.RaggedTensor, max_tokens: int) -> tuple[tf.Tensor, tf.Tensor]:
    """([B, max_tokens] ids with 0 = padding, [B] lengths)."""
    ids = ranks[:, :max_tokens] + 1
    return ids.to_tensor(default_value=0, shape=[None, max_tokens]), tf.cast(ids.row_lengths(), tf.int64)
