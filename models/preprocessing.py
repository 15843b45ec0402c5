"""The Transform component's preprocessing_fn.

Analysers run over the training split only, so vocabularies and class frequencies are
the training ones:

- ``words``: title word vocabulary (top_k / frequency threshold from the config), most
  frequent first; the most and least frequent words are dropped from titles (paper,
  4.1) and the remaining ids shifted by one so that 0 is padding. The embedding table
  therefore has ``vocab_size + 1`` rows.
- ``labels``: label vocabulary, most frequent class first; an unknown label maps to -1.
- ``label_frequency``: the same labels with their training-image counts (lines
  ``"count label"``), the per-class training frequency the Trainer and the head/tail
  evaluation read.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from models import custom_config as custom_config_contract
from models import features
from models.image_preprocessing import decode_images
from models.title_ids import keep_word_ranks, padded_token_ids
from models.title_tokenizer import tokenize_titles


def _dense(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A scalar-per-example feature as a [B] tensor (empty value -> '')."""
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(tf.sparse.reset_shape(x, [x.dense_shape[0], 1]), default_value="")
    return tf.reshape(x, [-1])


def title_token_ids(titles: tf.Tensor, pre) -> tuple[tf.Tensor, tf.Tensor]:
    """Titles -> ([B, max_title_tokens] ids, 0 = padding, [B] lengths).

    Word ids are frequency ranks (0 = most frequent); see models/title_ids.py for the
    dropping of the most and least frequent words and the shift that makes 0 padding.
    """
    tokens = tokenize_titles(titles)
    ranks = tft.compute_and_apply_vocabulary(
        tokens,
        top_k=pre.vocab_top_k,
        frequency_threshold=pre.min_word_frequency if pre.min_word_frequency > 1 else None,
        num_oov_buckets=1,
        vocab_filename=features.WORD_VOCABULARY,
    )
    size = tft.experimental.get_vocabulary_size_by_name(features.WORD_VOCABULARY)
    ranks = keep_word_ranks(
        ranks, size, pre.drop_most_frequent_words, pre.drop_least_frequent_words, pre.drop_min_vocabulary,
        pre.dedupe_title_words,
    )
    return padded_token_ids(ranks, pre.max_title_tokens)


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any] | None = None):
    config = custom_config_contract.decode(custom_config)
    pre = config.preprocessing
    labels = tf.strings.strip(_dense(inputs[features.LABEL]))
    token_ids, lengths = title_token_ids(_dense(inputs[features.TITLE]), pre)
    tft.vocabulary(labels, vocab_filename=features.LABEL_FREQUENCY_VOCABULARY, store_frequency=True)
    outputs = {
        features.IMAGE_PIXELS: decode_images(_dense(inputs[features.IMAGE]), pre.image_size),
        features.TITLE_TOKEN_IDS: token_ids,
        features.TITLE_LENGTH: lengths,
        features.LABEL_ID: tft.compute_and_apply_vocabulary(
            labels, vocab_filename=features.LABEL_VOCABULARY, default_value=-1
        ),
    }
    return outputs


def read_label_frequencies(tft_output: tft.TFTransformOutput) -> dict[str, int]:
    """label -> number of training images, from the label_frequency vocabulary."""
    path = tft_output.vocabulary_file_by_name(features.LABEL_FREQUENCY_VOCABULARY)
    counts = {}
    with tf.io.gfile.GFile(path, "rb") as f:
        for raw in f:
            count, label = raw.decode("utf-8").rstrip("\n").split(" ", 1)
            counts[label] = int(count)
    return counts

