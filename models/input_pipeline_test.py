"""The Trainer's input pipeline on small GZIP TFRecord files, with a stand-in for
Transform's output (its feature specs and transform layer), so no Transform runs.
models/trainer_test.py checks _augment's seeding; these check the datasets."""

import json

import numpy as np
import pytest
import tensorflow as tf

from models import features
from models.input_pipeline import _augment, _files, make_dataset, transformed_examples
from sicot.config import load_config

SIZE, TOKENS = 8, 3
# Labels of the rows written; -1 is an unknown label (dropped), 0 a real class.
LABELS = [3, -1, 0, 1, 2, -1, 4]

TRANSFORMED_SPEC = {
    features.IMAGE_PIXELS: tf.io.FixedLenFeature([SIZE, SIZE, 3], tf.float32),
    features.TITLE_TOKEN_IDS: tf.io.FixedLenFeature([TOKENS], tf.int64),
    features.TITLE_LENGTH: tf.io.FixedLenFeature([], tf.int64),
    features.LABEL_ID: tf.io.FixedLenFeature([], tf.int64),
}
RAW_SPEC = {"raw_label": tf.io.FixedLenFeature([], tf.int64)}


def _pixel(label: int) -> float:
    """Every row's image is one grey level, a function of its label (never white)."""
    return -0.9 + 0.1 * label


def _example(label: int) -> bytes:
    """A row with both the raw feature the fake transform layer reads and the
    materialized transformed features."""

    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))

    pixels = tf.train.FloatList(value=[_pixel(label)] * (SIZE * SIZE * 3))
    feature = {
        "raw_label": ints([label]),
        features.IMAGE_PIXELS: tf.train.Feature(float_list=pixels),
        features.TITLE_TOKEN_IDS: ints([label + 10, label + 20, 0]),
        features.TITLE_LENGTH: ints([2]),
        features.LABEL_ID: ints([label]),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write(path, labels) -> str:
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for label in labels:
            writer.write(_example(label))
    return str(path)


class FakeTransformOutput:
    """What the pipeline asks of a TFTransformOutput: the specs and the transform layer."""

    def transformed_feature_spec(self):
        return dict(TRANSFORMED_SPEC)

    def raw_feature_spec(self):
        return dict(RAW_SPEC)

    def transform_features_layer(self):
        def layer(raw):
            label = raw["raw_label"]
            batch = tf.shape(label)[0]
            grey = tf.reshape(_pixel(tf.cast(label, tf.float32)), [-1, 1, 1, 1])
            pixels = tf.broadcast_to(grey, [batch, SIZE, SIZE, 3])
            ids = tf.stack([label + 10, label + 20, tf.zeros_like(label)], axis=1)
            return {
                features.IMAGE_PIXELS: pixels,
                features.TITLE_TOKEN_IDS: tf.cast(ids, tf.int32),  # the pipeline casts to int64
                features.TITLE_LENGTH: tf.fill([batch], 2),
                features.LABEL_ID: label,
            }

        return layer


@pytest.fixture
def shards(tmp_path):
    """Two shards whose names sort in the order of LABELS."""
    return [_write(tmp_path / "part-b.gz", LABELS[4:]), _write(tmp_path / "part-a.gz", LABELS[:4])]


def _config(*overrides):
    return load_config(None, [f"preprocessing.image_size={SIZE}", f"preprocessing.max_title_tokens={TOKENS}",
                              "train.batch_size=3", "train.seed=7", *overrides])


def _examples(ds) -> list[tuple[dict, int]]:
    out = []
    for x, y in ds.as_numpy_iterator():
        for i in range(len(y)):
            out.append(({k: v[i] for k, v in x.items()}, int(y[i])))
    return out


def test_files_are_sorted_over_all_patterns_and_none_is_an_error(tmp_path):
    for name in ("b1", "a2", "a1"):
        (tmp_path / name).write_bytes(b"")
    assert _files([str(tmp_path / "b*"), str(tmp_path / "a*")]) == [str(tmp_path / n) for n in ("a1", "a2", "b1")]
    missing = str(tmp_path / "none-*")
    with pytest.raises(FileNotFoundError, match=r"no example files match \['.*none-\*'\]"):
        _files([missing])


@pytest.mark.parametrize("parse_batch", [2, 64])
def test_materialized_examples_are_parsed_one_dict_per_row_in_file_order(shards, tmp_path, parse_batch):
    pattern = str(tmp_path / "part-*")
    rows = list(transformed_examples([pattern], FakeTransformOutput(), True, parse_batch=parse_batch)
                .as_numpy_iterator())
    assert [int(r[features.LABEL_ID]) for r in rows] == LABELS
    assert set(rows[0]) == set(TRANSFORMED_SPEC)
    assert rows[0][features.IMAGE_PIXELS].shape == (SIZE, SIZE, 3)
    assert rows[0][features.TITLE_TOKEN_IDS].tolist() == [13, 23, 0]


def test_raw_examples_go_through_the_transform_layer(shards):
    rows = list(transformed_examples(shards, FakeTransformOutput(), False, parse_batch=3).as_numpy_iterator())
    assert [int(r[features.LABEL_ID]) for r in rows] == LABELS
    np.testing.assert_allclose(rows[0][features.IMAGE_PIXELS], _pixel(3), rtol=1e-6)
    assert rows[0][features.TITLE_TOKEN_IDS].dtype == np.int32  # as the layer made them
    assert rows[0][features.TITLE_TOKEN_IDS].tolist() == [13, 23, 0]


@pytest.mark.parametrize("materialize", [True, False])
def test_eval_batches_keep_labelled_rows_in_order_with_image_and_title_only(shards, materialize):
    ds = make_dataset(shards, FakeTransformOutput(), _config(f"preprocessing.materialize={materialize}"),
                      training=False)
    x, y = next(iter(ds))
    assert set(x) == {features.IMAGE_PIXELS, features.TITLE_TOKEN_IDS}
    assert x[features.TITLE_TOKEN_IDS].dtype == tf.int64 and y.dtype == tf.int64
    assert x[features.IMAGE_PIXELS].shape == (3, SIZE, SIZE, 3) and y.shape == (3,)
    batches = [yb.tolist() for _, yb in ds.as_numpy_iterator()]
    assert batches == [[3, 0, 1], [2, 4]]  # -1 dropped, label 0 kept, the last batch short
    for example, label in _examples(ds):
        assert example[features.TITLE_TOKEN_IDS].tolist() == [label + 10, label + 20, 0]
        np.testing.assert_allclose(example[features.IMAGE_PIXELS], _pixel(label), rtol=1e-6)


def test_training_repeats_and_shuffles_the_same_way_for_the_same_seed(shards):
    config = _config("train.augment=false")
    first = [label for _, label in _examples(make_dataset(shards, FakeTransformOutput(), config, True).take(8))]
    again = [label for _, label in _examples(make_dataset(shards, FakeTransformOutput(), config, True).take(8))]
    assert first == again
    labels = first
    assert len(labels) == 24 and set(labels) == {0, 1, 2, 3, 4}  # 5 labelled rows, repeated
    # Each pass over the data is a permutation of the 5 rows, in another order.
    passes = [labels[i:i + 5] for i in range(0, 20, 5)]
    assert all(sorted(p) == [0, 1, 2, 3, 4] for p in passes)
    assert len({tuple(p) for p in passes}) > 1
    # Without augmentation the images are as stored.
    for example, label in _examples(make_dataset(shards, FakeTransformOutput(), config, True).take(4)):
        np.testing.assert_allclose(example[features.IMAGE_PIXELS], _pixel(label), rtol=1e-6)


def test_augmentation_shifts_images_on_white_and_keeps_each_example_whole(shards):
    config = _config("train.augment=true")
    examples = _examples(make_dataset(shards, FakeTransformOutput(), config, True).take(8))
    again = _examples(make_dataset(shards, FakeTransformOutput(), config, True).take(8))
    pad = SIZE // 8
    shifted = 0
    for (example, label), (same, same_label) in zip(examples, again):
        pixels = example[features.IMAGE_PIXELS]
        assert pixels.shape == (SIZE, SIZE, 3)
        # The title and the label stay with their own image.
        assert example[features.TITLE_TOKEN_IDS].tolist() == [label + 10, label + 20, 0]
        # A shift of at most SIZE // 8 leaves the centre as it was; the border may be white.
        np.testing.assert_allclose(pixels[pad:SIZE - pad, pad:SIZE - pad], _pixel(label), rtol=1e-6)
        assert np.all(np.isclose(pixels, _pixel(label)) | np.isclose(pixels, 1.0))
        shifted += int(np.isclose(pixels, 1.0).any())
        assert same_label == label
        np.testing.assert_array_equal(same[features.IMAGE_PIXELS], pixels)  # seeded per example
    assert shifted > 0


def test_augment_flips_left_right():
    image = tf.tile(tf.reshape(tf.linspace(-1.0, 0.5, SIZE), [1, SIZE, 1]), [SIZE, 1, 3])  # columns differ
    seen = set()
    for seed in range(12):
        out = _augment(image, tf.constant([seed, 0])).numpy()[SIZE // 2, :, 0]
        inner = out[1:-1]  # away from the white border a shift may bring
        steps = np.diff(inner)
        assert np.all(steps > 0) or np.all(steps < 0)  # a shift of the row, maybe mirrored
        seen.add(bool(steps[0] > 0))
    assert seen == {True, False}


@pytest.mark.parametrize(
    "cluster, policy",
    [
        (None, tf.data.experimental.AutoShardPolicy.FILE),  # one process: nothing to split
        ({"chief": ["h:1"], "worker": ["h:2"]}, tf.data.experimental.AutoShardPolicy.FILE),  # 2 files, 2 readers
        # 3 readers, 2 files: by file would fail ("not enough for the required 3 shards").
        ({"chief": ["h:1"], "worker": ["h:2", "h:3"]}, tf.data.experimental.AutoShardPolicy.DATA),
        ({"worker": ["h:2", "h:3", "h:4"], "ps": ["h:5"]}, tf.data.experimental.AutoShardPolicy.DATA),
    ],
)
def test_a_cluster_splits_the_input_by_file_only_when_every_worker_gets_a_file(shards, monkeypatch, cluster,
                                                                               policy):
    if cluster is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    for training in (True, False):
        ds = make_dataset(shards, FakeTransformOutput(), _config(), training=training)
        assert ds.options().experimental_distribute.auto_shard_policy == policy
