"""Partial FC (An et al., "Partial FC: Training 10 Million Identities on a Single
Machine", 2021): per training step, logits only over the batch's positive classes plus a
random share r of the other classes.

For each classifier shard of C_i classes, every class that is some example's label in
the batch is kept, and the sample is filled up to ceil(r * C_i) columns with classes
drawn uniformly at random from the rest (when the positives alone are more, all of them
are kept). The softmax cross-entropy then runs over the sampled columns only, with each
label remapped to its column in the sample. Evaluation and serving use the full
classifier (the weights are the same; only the training step is cheaper). Both heads of
a step (visual and mixed) use the same sample.

The sampled negatives stand for all the shard's negatives: their logits get
+log((C_i - P) / (k - P)) (P positives, k sampled columns; the inverse of a negative's
chance to be drawn), so that the sampled softmax's partition function is an unbiased
estimate of the full one (the "logQ" correction of sampled softmax, Bengio & Senecal
2008, Jean et al. 2015). Without it, a class's logit is pushed down only in the steps
that sample it, and on a long tail the frequent classes are always sampled and the
rare ones seldom: the trained model then over-predicts the rare classes
(bench/partial_fc_accuracy.py measures both; ``model.partial_fc_correction``).

With the cosine classifier the correction is off by default: its logits are bounded
by the scale s, and on the synthetic long tail the plain sampling of InsightFace's
``partial_fc_v2.py`` keeps cosine + partial FC within a few tenths of the full cosine
classifier, while the corrected sampling loses 3-7 points
(``partial_fc_correction``; bench/partial_fc_accuracy.py).

r = 1 is the full softmax (this module is not used then).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import tensorflow as tf

from models.sharded_classifier import ShardedClassifier, on_device


def sampled_columns_count(shard_size: int, ratio: float) -> int:
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"model.partial_fc_ratio must be in (0, 1], got {ratio}")
    return min(shard_size, max(1, math.ceil(ratio * shard_size)))


def sample_shard_columns(
    label_positions: tf.Tensor, shard_size: int, ratio: float, seed
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(sorted sampled columns [k], labels remapped to their index in them [B] (-1 = not
    here), the logQ correction of each sampled column [k] (0 for positives)).

    label_positions: each label's column in this shard, -1 where another shard owns it.
    seed: a keras SeedGenerator (or an int) for the random negatives.
    """
    positions = tf.cast(label_positions, tf.int64)
    owned = positions >= 0
    # Positives score 2, everything else a uniform draw in [0, 1): the top k are all the
    # positives, then random negatives.
    is_positive = tf.scatter_nd(
        tf.boolean_mask(positions, owned)[:, None],
        tf.ones_like(tf.boolean_mask(positions, owned), tf.float32),
        [shard_size],
    ) > 0
    scores = tf.where(is_positive, 2.0, keras.random.uniform([shard_size], seed=seed))
    k = tf.maximum(sampled_columns_count(shard_size, ratio), tf.reduce_sum(tf.cast(is_positive, tf.int32)))
    columns = tf.sort(tf.math.top_k(scores, k=k).indices)
    columns64 = tf.cast(columns, tf.int64)
    column_of_class = tf.tensor_scatter_nd_update(
        tf.fill([shard_size], tf.constant(-1, tf.int64)), columns64[:, None], tf.range(tf.size(columns64, tf.int64))
    )
    remapped = tf.where(owned, tf.gather(column_of_class, tf.maximum(positions, 0)), tf.constant(-1, tf.int64))
    positives = tf.reduce_sum(tf.cast(is_positive, tf.float32))
    negatives_drawn = tf.maximum(tf.cast(k, tf.float32) - positives, 1.0)
    correction = tf.math.log((shard_size - positives) / negatives_drawn)
    column_is_positive = tf.gather(is_positive, columns)
    return columns, remapped, tf.where(column_is_positive, 0.0, correction)


@dataclass
class ClassSample:
    """One step's sample: per shard, the sampled columns, their global class ids, and
    every label's index among them (-1 where the shard does not own the label)."""

    columns: list[tf.Tensor]
    class_ids: list[tf.Tensor]
    label_positions: list[tf.Tensor]
    logq_corrections: list[tf.Tensor]

    def corrected(self, shard_logits: list[tf.Tensor]) -> list[tf.Tensor]:
        """The sampled logits with each sampled negative's logQ correction added."""
        return [logits + correction for logits, correction in zip(shard_logits, self.logq_corrections)]


def sample_classes(classifier: ShardedClassifier, labels: tf.Tensor, ratio: float, seed) -> ClassSample:
    columns, class_ids, positions, corrections = [], [], [], []
    for i, (shard_positions, size, offset, device) in enumerate(
        zip(classifier.label_positions(labels), classifier.sizes, classifier.offsets, classifier.shard_devices)
    ):
        with on_device(device):
            cols, remapped, correction = sample_shard_columns(shard_positions, size, ratio, seed)
        columns.append(cols)
        class_ids.append(tf.cast(cols, tf.int64) + offset)
        positions.append(remapped)
        corrections.append(correction)
    return ClassSample(columns, class_ids, positions, corrections)


def uses_logq_correction(setting: bool | None, classifier: str) -> bool:
    """Whether partial FC applies the logQ correction: ``setting`` (model.partial_fc_correction)
    when given, else on for the dense classifier and off for the cosine one."""
    return setting if setting is not None else classifier != "cosine"
