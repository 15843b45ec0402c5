"""The Trainer's input pipeline: Transform's features as (features, label) batches.

``transformed_examples`` reads TFRecords (raw through the Transform graph, or already
materialized) as unbatched feature dicts; ``make_dataset`` keeps the image and the
title token ids, drops unlabelled rows, caches, and for training shuffles, repeats
and augments (random flip and shift, seeded per example).

In a multi-worker cluster (distribute.strategy multi_worker_mirrored) tf.distribute
splits the input between the workers by ``auto_shard_policy``: by file (each worker
reads only its files) when there are at least as many files as workers, else by element
(every worker reads all files and keeps its share). TF's default, AUTO, would try files
and fail on a split with fewer files than workers (ExampleGen often writes one).
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from models import features
from sicot.config import SicotConfig
from training.distribution import data_workers

_AUTOTUNE = tf.data.AUTOTUNE


def _files(patterns: list[str]) -> list[str]:
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise FileNotFoundError(f"no example files match {patterns}")
    return files


def auto_shard_policy(num_files: int, workers: int) -> tf.data.experimental.AutoShardPolicy:
    """FILE when every worker gets at least one file, else DATA."""
    policies = tf.data.experimental.AutoShardPolicy
    return policies.FILE if num_files >= workers else policies.DATA


def transformed_examples(
    patterns: list[str], tft_output: tft.TFTransformOutput, materialized: bool, parse_batch: int = 64
) -> tf.data.Dataset:
    """Unbatched dicts of transformed features (from raw or materialized examples)."""
    records = tf.data.TFRecordDataset(_files(patterns), compression_type="GZIP")
    if materialized:
        spec = tft_output.transformed_feature_spec()
        return records.batch(parse_batch).map(
            lambda x: tf.io.parse_example(x, spec), num_parallel_calls=_AUTOTUNE
        ).unbatch()
    layer = tft_output.transform_features_layer()
    spec = tft_output.raw_feature_spec()
    return records.batch(parse_batch).map(
        lambda x: layer(tf.io.parse_example(x, spec)), num_parallel_calls=_AUTOTUNE
    ).unbatch()


def _augment(pixels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip and a random shift of up to 1/8 of the image."""
    size = pixels.shape[0]
    pad = max(1, size // 8)
    pixels = tf.image.stateless_random_flip_left_right(pixels, seed)
    padded = tf.pad(pixels, [[pad, pad], [pad, pad], [0, 0]], constant_values=1.0)
    return tf.image.stateless_random_crop(padded, tf.shape(pixels), seed + 1)


def make_dataset(
    patterns: list[str],
    tft_output: tft.TFTransformOutput,
    config: SicotConfig,
    training: bool,
) -> tf.data.Dataset:
    """({image_pixels, title_token_ids}, label_id) batches; training ones are cached,
    shuffled and augmented (the images)."""
    ds = transformed_examples(patterns, tft_output, config.preprocessing.materialize)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = auto_shard_policy(len(_files(patterns)), data_workers())
    ds = ds.with_options(options)
    ds = ds.filter(lambda f: tf.reshape(f[features.LABEL_ID], []) >= 0)
    ds = ds.map(
        lambda f: (
            {
                features.IMAGE_PIXELS: f[features.IMAGE_PIXELS],
                features.TITLE_TOKEN_IDS: tf.cast(f[features.TITLE_TOKEN_IDS], tf.int64),
            },
            tf.reshape(f[features.LABEL_ID], []),
        ),
        num_parallel_calls=_AUTOTUNE,
    ).cache()
    batch = config.train.batch_size
    if not training:
        return ds.batch(batch).prefetch(_AUTOTUNE)
    ds = ds.shuffle(4096, seed=config.train.seed, reshuffle_each_iteration=True).repeat()
    if config.train.augment:
        counter = tf.data.Dataset.counter().map(lambda i: tf.stack([i, tf.constant(config.train.seed, tf.int64)]))
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda xy, s: (
                {**xy[0], features.IMAGE_PIXELS: _augment(xy[0][features.IMAGE_PIXELS], tf.cast(s, tf.int32))},
                xy[1],
            ),
            num_parallel_calls=_AUTOTUNE,
        )
    return ds.batch(batch, drop_remainder=False).prefetch(_AUTOTUNE)
