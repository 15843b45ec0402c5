"""Noisy product titles -> word tokens, with tensorflow-text.

Latin-script (and any space-separated) text is case-folded, NFKC-normalised, stripped
of punctuation (paper, 4.1) and split on white space. Chinese, Japanese kana and other
scripts written without spaces are split into single characters, the usual unit for
word vectors over noisy CJK titles, so "Nike运动鞋 air" -> ["nike", "运", "动", "鞋",
"air"].
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_text as tf_text

# Scripts written without spaces between words: each character is a token.
_UNSPACED = r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Thai}|\p{Lao}|\p{Khmer}|\p{Myanmar}"


def normalize_titles(titles: tf.Tensor) -> tf.Tensor:
    """Case folding, NFKC, punctuation to spaces."""
    text = tf_text.normalize_utf8(tf_text.case_fold_utf8(titles), "NFKC")
    return tf.strings.regex_replace(text, r"\p{P}+", " ")


def tokenize_titles(titles: tf.Tensor) -> tf.RaggedTensor:
    """[B] (or [B, 1]) strings -> [B, None] tokens."""
    titles = tf.reshape(titles, [-1])
    tokens = tf_text.regex_split(
        normalize_titles(titles),
        delim_regex_pattern=rf"\s+|{_UNSPACED}",
        keep_delim_regex_pattern=_UNSPACED,
    )
    return tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
