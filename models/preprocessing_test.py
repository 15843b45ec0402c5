"""preprocessing_fn through tf.Transform's Beam implementation on a handful of rows."""

import io
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from PIL import Image
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models import features
from models.custom_config import encode
from models.preprocessing import preprocessing_fn, read_label_frequencies
from sicot.config import SicotConfig

RAW_SPEC = {
    features.IMAGE: tf.io.FixedLenFeature([], tf.string),
    features.TITLE: tf.io.FixedLenFeature([], tf.string),
    features.LABEL: tf.io.FixedLenFeature([], tf.string),
}


def _png(color, mode="RGB", size=(10, 6)):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def _run(rows, **pre):
    config = SicotConfig()
    config.preprocessing.drop_most_frequent_words = 0.0
    config.preprocessing.drop_least_frequent_words = 0.0
    config.preprocessing.image_size = 8
    config.preprocessing.max_title_tokens = 4
    for k, v in pre.items():
        setattr(config.preprocessing, k, v)
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    out_dir = tempfile.mkdtemp()
    fn = lambda inputs: preprocessing_fn(inputs, encode(config))
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=False):
        (transformed, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            fn, output_record_batches=False
        )
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
    return transformed, tft.TFTransformOutput(out_dir)


ROWS = [
    {features.IMAGE: _png((255, 0, 0)), features.TITLE: b"Red Shoe, red!", features.LABEL: b"shoe"},
    {features.IMAGE: _png((0, 0, 255, 0), "RGBA"), features.TITLE: b"blue shoe", features.LABEL: b"shoe"},
    {features.IMAGE: _png(128, "L"), features.TITLE: b"", features.LABEL: b"hat"},
    {features.IMAGE: _png((0, 255, 0)), features.TITLE: "红色 帽子 red hat rare".encode(), features.LABEL: b"shoe"},
]


@pytest.fixture(scope="module")
def transformed():
    return _run(ROWS, min_word_frequency=2)


def test_label_ids_follow_training_frequency(transformed):
    rows, tft_output = transformed
    vocab = tft_output.vocabulary_by_name(features.LABEL_VOCABULARY)
    assert [v.decode() for v in vocab] == ["shoe", "hat"]
    assert [r[features.LABEL_ID] for r in rows] == [0, 0, 1, 0]
    assert read_label_frequencies(tft_output) == {"shoe": 3, "hat": 1}


def test_word_vocabulary_filters_rare_words_and_pads(transformed):
    rows, tft_output = transformed
    words = [w.decode() for w in tft_output.vocabulary_by_name(features.WORD_VOCABULARY)]
    # min_word_frequency=2 keeps words seen at least twice: red (3), shoe (2).
    assert sorted(words) == ["red", "shoe"]
    word_id = {w: i + 1 for i, w in enumerate(words)}  # 0 is padding
    ids = [list(r[features.TITLE_TOKEN_IDS]) for r in rows]
    assert ids[0] == [word_id["red"], word_id["shoe"], word_id["red"], 0]
    assert ids[1] == [word_id["shoe"], 0, 0, 0]  # "blue" is out of vocabulary: dropped
    assert ids[2] == [0, 0, 0, 0]  # empty title: all padding
    # Only "red" of "红 色 帽 子 red hat rare" is in the vocabulary.
    assert ids[3] == [word_id["red"], 0, 0, 0]
    assert [r[features.TITLE_LENGTH] for r in rows] == [3, 1, 0, 1]


def test_most_and_least_frequent_words_are_dropped():
    # Vocabulary by frequency: red (3), shoe (2), then the words seen once; with
    # 9 words, 0.12 drops floor(1.08) = 1 from each end: "red" and the rarest word.
    rows, tft_output = _run(ROWS, drop_most_frequent_words=0.12, drop_least_frequent_words=0.12,
                            max_title_tokens=8)
    words = [w.decode() for w in tft_output.vocabulary_by_name(features.WORD_VOCABULARY)]
    assert len(words) == 9 and words[:2] == ["red", "shoe"]
    kept = [[words[i - 1] for i in r[features.TITLE_TOKEN_IDS] if i] for r in rows]
    dropped = {"red", words[-1]}  # the most frequent and the rarest (ties broken by TFT)
    titles = [["red", "shoe", "red"], ["blue", "shoe"], [], ["红", "色", "帽", "子", "red", "hat", "rare"]]
    assert kept == [[w for w in t if w not in dropped] for t in titles]


def test_images_are_resized_composited_and_scaled(transformed):
    rows, _ = transformed
    red = np.asarray(rows[0][features.IMAGE_PIXELS]).reshape(8, 8, 3)
    np.testing.assert_allclose(red[..., 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(red[..., 1:], -1.0, atol=1e-5)
    # Fully transparent blue is composited on white.
    clear = np.asarray(rows[1][features.IMAGE_PIXELS]).reshape(8, 8, 3)
    np.testing.assert_allclose(clear, 1.0, atol=1e-5)
    grey = np.asarray(rows[2][features.IMAGE_PIXELS]).reshape(8, 8, 3)
    np.testing.assert_allclose(grey, 128 / 255 * 2 - 1, atol=1e-2)


def test_top_k_limits_the_word_vocabulary():
    _, tft_output = _run(ROWS, vocab_top_k=1, min_word_frequency=1)
    assert [w.decode() for w in tft_output.vocabulary_by_name(features.WORD_VOCABULARY)] == ["red"]
