"""The raw tf.Example of one image (the features of models/features.py), as every
ingest path writes it.

Encoded here in the protocol buffer wire format, without TensorFlow: the ingest
graph's Beam workers then need not import TensorFlow (about 5 s per worker process
on the CI machine). The bytes parse as ``tf.train.Example`` (tested against
TensorFlow's own parser)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }     (map entry: key = 1, value = 2)
    Feature  { BytesList bytes_list = 1; ... }
    BytesList { repeated bytes value = 1; }
"""

from __future__ import annotations

from typing import Sequence

from models import features

_LENGTH_DELIMITED_FIELD_1 = b"\x0a"  # field 1, wire type 2
_LENGTH_DELIMITED_FIELD_2 = b"\x12"  # field 2, wire type 2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _varint(len(payload)) + payload


def _bytes_feature(values: Sequence[str | bytes]) -> bytes:
    bytes_list = b"".join(_field(_LENGTH_DELIMITED_FIELD_1, v.encode() if isinstance(v, str) else v) for v in values)
    return _field(_LENGTH_DELIMITED_FIELD_1, bytes_list)


def encode_bytes_example(feature: dict[str, Sequence[str | bytes]]) -> bytes:
    """A serialized tf.Example whose features are all bytes lists."""
    entries = b"".join(
        _field(_LENGTH_DELIMITED_FIELD_1,
               _field(_LENGTH_DELIMITED_FIELD_1, name.encode()) + _field(_LENGTH_DELIMITED_FIELD_2, _bytes_feature(v)))
        for name, v in feature.items())
    return _field(_LENGTH_DELIMITED_FIELD_1, entries)


def encode_example(image: bytes, title: str, label: str, sku: str, tags: Sequence[str], example_id: str) -> bytes:
    """A serialized tf.Example: image bytes, UTF-8 title, label, sku, tags and example id."""
    return encode_bytes_example({
        features.IMAGE: [image],
        features.TITLE: [title],
        features.LABEL: [label],
        features.SKU: [sku],
        features.TAGS: list(tags),
        features.EXAMPLE_ID: [example_id],
    })
