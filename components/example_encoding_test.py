"""encode_example writes every raw feature under the name models/features.py gives it."""

import tensorflow as tf

from components.example_encoding import encode_example
from models import features


def test_every_feature_round_trips():
    data = encode_example(image=b"\x89PNG...", title="caf\u00e9 shoe", label="sku-1", sku="p1", tags=["a", "b"],
                          example_id="m.jsonl:3")
    f = tf.train.Example.FromString(data).features.feature
    assert f[features.IMAGE].bytes_list.value == [b"\x89PNG..."]
    assert f[features.TITLE].bytes_list.value[0].decode() == "caf\u00e9 shoe"
    assert f[features.LABEL].bytes_list.value == [b"sku-1"]
    assert f[features.SKU].bytes_list.value == [b"p1"]
    assert f[features.TAGS].bytes_list.value == [b"a", b"b"]
    assert f[features.EXAMPLE_ID].bytes_list.value == [b"m.jsonl:3"]


def test_no_tags_is_an_empty_list_not_a_missing_feature():
    f = tf.train.Example.FromString(encode_example(b"x", "", "l", "l", [], "id")).features.feature
    assert features.TAGS in f and list(f[features.TAGS].bytes_list.value) == []


def test_long_values_and_many_features_parse_like_tensorflows_own_encoding():
    from components.example_encoding import encode_bytes_example

    feature = {"a": [b"x" * 300, b""], "b" * 200: [b"\x00\xff" * 70000], "empty": []}
    mine = tf.train.Example.FromString(encode_bytes_example(feature))
    theirs = tf.train.Example(features=tf.train.Features(feature={
        k: tf.train.Feature(bytes_list=tf.train.BytesList(value=v)) for k, v in feature.items()}))
    assert mine == theirs
