"""The raw tf.Example of one image (the features of models/features.py), as every
ingest path writes it."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from models import features


def _bytes_feature(values: Sequence[str | bytes]) -> tf.train.Feature:
    return tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[v.encode() if isinstance(v, str) else v for v in values]))


def encode_example(image: bytes, title: str, label: str, sku: str, tags: Sequence[str], example_id: str) -> bytes:
    """A serialized tf.Example: image bytes, UTF-8 title, label, sku, tags and example id."""
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                features.IMAGE: _bytes_feature([image]),
                features.TITLE: _bytes_feature([title]),
                features.LABEL: _bytes_feature([label]),
                features.SKU: _bytes_feature([sku]),
                features.TAGS: _bytes_feature(list(tags)),
                features.EXAMPLE_ID: _bytes_feature([example_id]),
            }
        )
    ).SerializeToString()
