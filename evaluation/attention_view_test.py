"""The Fig. 7 view's data: eval titles read from GZIP TFRecords written here, weighed by
a small SavedModel whose ``title_attention`` signature gives each word its length
share (and drops the word "the", as an unknown word is dropped)."""

import pytest
import tensorflow as tf

from evaluation.attention_view import _spread, attention_examples, eval_titles
from models import features


def example(title: bytes | None, label: bytes | None) -> bytes:
    feature = {}
    if title is not None:
        feature[features.TITLE] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[title]))
    if label is not None:
        feature[features.LABEL] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[label]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_split(directory, files: dict[str, list[tuple]]) -> str:
    directory.mkdir(parents=True)
    for name, rows in files.items():
        with tf.io.TFRecordWriter(str(directory / name), options="GZIP") as writer:
            for title, label in rows:
                writer.write(example(title, label))
    return str(directory)


class LengthAttention(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="titles")])
    def title_attention(self, titles):
        words = tf.strings.split(tf.strings.lower(titles)).to_tensor(default_value="")
        words = tf.where(words == "the", "", words)
        lengths = tf.cast(tf.strings.length(words), tf.float32)
        weights = lengths / tf.maximum(tf.reduce_sum(lengths, axis=1, keepdims=True), 1.0)
        return {"words": words, "weights": weights}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "Format-TFMA")
    module = LengthAttention()
    tf.saved_model.save(module, path, signatures={"title_attention": module.title_attention})
    return path


def test_spread_keeps_evenly_spaced_items_in_order():
    items = list(range(10))
    assert _spread(items, 3) == [0, 3, 6]
    assert _spread(items, 4) == [0, 2, 5, 7]
    assert _spread(items, 10) == items and _spread(items, 50) == items
    assert _spread([], 3) == []


def test_eval_titles_are_distinct_non_empty_and_in_file_order(tmp_path):
    split = write_split(tmp_path / "Split-eval", {
        "data-00001-of-00002.gz": [(b"blue mug", b"mug"), (b"red running shoe", b"shoe-2")],
        "data-00000-of-00002.gz": [
            (b"  red running shoe ", b"shoe"),  # stripped; the first of a title wins
            (b"", b"hat"),  # no title
            (None, b"cap"),  # no title feature at all
            (b"   ", b"scarf"),  # only blanks
            (b"caf\xc3\xa9 cup", None),  # no label
            (b"bad \xff byte", b"x"),
        ],
    })
    assert eval_titles(split) == [
        ("shoe", "red running shoe"),
        ("", "café cup"),
        ("x", "bad \ufffd byte"),
        ("mug", "blue mug"),
    ]


def test_words_come_highest_weight_first_for_titles_with_two_kept_words(tmp_path, model_dir):
    split = write_split(tmp_path / "Split-eval", {"part": [
        (b"red running shoe", b"shoe"),
        (b"the hat", b"hat"),  # one kept word: nothing to weigh
        (b"Big Blue mug", b"mug"),
    ]})
    assert attention_examples(model_dir, split, limit=5) == [
        {"label": "shoe", "title": "red running shoe", "words": [["running", 0.5], ["shoe", 0.2857], ["red", 0.2143]]},
        {"label": "mug", "title": "Big Blue mug", "words": [["blue", 0.4], ["big", 0.3], ["mug", 0.3]]},
    ]


def test_limit_and_candidates_spread_the_titles_over_the_split(tmp_path, model_dir):
    rows = [(f"title number {i:02d}".encode(), f"c{i}".encode()) for i in range(12)]
    split = write_split(tmp_path / "Split-eval", {"part": rows})
    assert [e["label"] for e in attention_examples(model_dir, split, limit=3)] == ["c0", "c4", "c8"]
    # candidates thin the titles out before the model runs, limit after.
    assert [e["label"] for e in attention_examples(model_dir, split, limit=3, candidates=4)] == ["c0", "c3", "c6"]
    assert [e["label"] for e in attention_examples(model_dir, split, limit=100, candidates=4)] == [
        "c0", "c3", "c6", "c9"]


def test_a_split_without_titles_needs_no_model(tmp_path):
    split = write_split(tmp_path / "Split-eval", {"part": [(b"", b"a"), (None, b"b")]})
    assert attention_examples(str(tmp_path / "no-model-here"), split, limit=5) == []
