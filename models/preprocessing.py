"""The Transform component's preprocessing_fn.

Analysers run over the training split only, so vocabularies and class frequencies are
the training ones:

- ``words``: title word vocabulary (top_k / frequency threshold from the config);
  token ids are shifted by one so that 0 is padding, and out-of-vocabulary words get
  id ``vocab_size + 1``.
- ``labels``: label vocabulary, most frequent class first; an unknown label maps to -1.
- ``label_frequency``: the same labels with their training-image counts (lines
  ``"count label"``), the per-class training frequency the Trainer and the head/tail
  evaluation read.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from models import features
from models.image_preprocessing import decode_images
from models.title_tokenizer import tokenize_titles
from sicot.config import SicotConfig


def config_from_custom_config(custom_config: dict[str, Any] | None) -> SicotConfig:
    if not custom_config or "sicot_config" not in custom_config:
        return SicotConfig()
    return SicotConfig.from_json(custom_config["sicot_config"])


def _dense(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A scalar-per-example feature as a [B] tensor (empty value -> '')."""
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(tf.sparse.reset_shape(x, [x.dense_shape[0], 1]), default_value="")
    return tf.reshape(x, [-1])


def title_token_ids(titles: tf.Tensor, max_tokens: int, top_k: int, min_frequency: int):
    tokens = tokenize_titles(titles)
    ids = tft.compute_and_apply_vocabulary(
        tokens,
        top_k=top_k,
        frequency_threshold=min_frequency if min_frequency > 1 else None,
        num_oov_buckets=1,
        vocab_filename=features.WORD_VOCABULARY,
    )
    ids = ids[:, :max_tokens] + 1  # 0 is padding
    dense = ids.to_tensor(default_value=0, shape=[None, max_tokens])
    return dense, tf.cast(ids.row_lengths(), tf.int64)


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any] | None = None):
    config = config_from_custom_config(custom_config)
    pre = config.preprocessing
    labels = tf.strings.strip(_dense(inputs[features.LABEL]))
    token_ids, lengths = title_token_ids(
        _dense(inputs[features.TITLE]), pre.max_title_tokens, pre.vocab_top_k, pre.min_word_frequency
    )
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


def custom_config_for(config: SicotConfig, code_version: str = "") -> dict[str, str]:
    """The custom_config passed to Transform and Trainer (also their cache key)."""
    return {"sicot_config": config.to_json(), "code_version": code_version}


def read_label_frequencies(tft_output: tft.TFTransformOutput) -> dict[str, int]:
    """label -> number of training images, from the label_frequency vocabulary."""
    path = tft_output.vocabulary_file_by_name(features.LABEL_FREQUENCY_VOCABULARY)
    counts = {}
    with tf.io.gfile.GFile(path, "rb") as f:
        for raw in f:
            count, label = raw.decode("utf-8").rstrip("\n").split(" ", 1)
            counts[label] = int(count)
    return counts

