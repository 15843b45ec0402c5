"""A normalised (cosine) classifier with an additive or angular margin (CosFace / ArcFace).

    logits_j = s * cos(x, w_j) + b_j          cos(x, w_j) = x . w_j / (||x|| ||w_j||)

and, in training only, a margin on the true class y (Wang et al. 2018, CosFace; Deng et
al. 2019, ArcFace):

    cosface   s * (cos_y - m) + b_y
    arcface   s * cos(theta_y + m) + b_y       theta_y = arccos(cos_y); past
              theta_y > pi - m (where cos(theta + m) stops decreasing) the ArcFace
              reference continues linearly: s * (cos_y - m sin(pi - m)) + b_y.

Why: with both the feature and every class weight normalised, a class's score is an
angle, not a norm. A plain softmax classifier trained on long-tailed data grows larger
weight norms for head classes (the reason tau-normalisation works); here all norms are
1. And Partial FC as published never samples a plain softmax: InsightFace's
``partial_fc_v2.py`` normalises both sides, scales by s and applies this margin, which
is what keeps sampled training close to the full softmax at 10^5-10^6 classes.

The bias ``b`` is not trained (it stays 0): it exists so that post-training
re-balancing (``long_tail.adjustment: posthoc``) can shift the logits, as it does the
Dense classifier's bias. The margin is applied by the loss (``margin_logits``), never in
``call``: evaluation and serving see ``s * cos + b``, and their probabilities are its
softmax.

Parameters: D x C (the kernel; the bias is not trained). ArcFace's sqrt(1 - cos^2) has an
infinite derivative at cos = +-1: cos is clipped to [-1 + 1e-6, 1 - 1e-6] first, so the
gradient stays finite at the edges.

Reference: deepinsight/insightface ``recognition/arcface_torch/losses.py`` (CosFace,
ArcFace) and ``partial_fc_v2.py`` (normalise, then sample, scale and margin).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

MARGINS = ("cosface", "arcface")


def normalized_logits(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, scale: float) -> tf.Tensor:
    """s * cos(x, w_j) + b_j for each column j of kernel [D, C]."""
    return scale * tf.matmul(tf.math.l2_normalize(x, axis=-1), tf.math.l2_normalize(kernel, axis=0)) + bias


def margin_logits(
    logits: tf.Tensor, positions: tf.Tensor, bias: tf.Tensor, scale: float, margin: float, margin_type: str
) -> tf.Tensor:
    """The logits with the margin applied at each example's label column.

    logits [B, C'] = s * cos + bias (the columns of one classifier or shard); positions
    [B]: the label's column in them, -1 where they hold no label column (another shard
    owns it); bias [C']: the columns' biases.
    """
    if margin_type not in MARGINS:
        raise ValueError(f"unknown model.cosine_margin_type '{margin_type}' (known: {', '.join(MARGINS)})")
    if margin == 0.0:
        return logits
    onehot = tf.one_hot(positions, tf.shape(logits)[1], dtype=logits.dtype)  # -1 -> a row of zeros
    label_logit = tf.reduce_sum(logits * onehot, axis=1)
    label_bias = tf.gather(bias, tf.maximum(positions, 0))
    cos = (label_logit - label_bias) / scale
    if margin_type == "cosface":
        target = cos - margin
    else:
        cos = tf.clip_by_value(cos, -1.0 + 1e-6, 1.0 - 1e-6)
        sin = tf.sqrt(1.0 - cos * cos)
        target = tf.where(
            cos > math.cos(math.pi - margin),
            cos * math.cos(margin) - sin * math.sin(margin),
            cos - math.sin(math.pi - margin) * margin,
        )
    return logits + onehot * (scale * target + label_bias - label_logit)[:, None]


@keras.saving.register_keras_serializable(package="sicot")
class CosineClassifier(keras.layers.Layer):
    """[B, D] features -> [B, units] logits ``scale * cos + bias`` (a Dense layer's shape:
    ``kernel`` [D, units], ``bias`` [units])."""

    def __init__(self, units: int, scale: float = 16.0, margin: float = 0.1, margin_type: str = "cosface",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if margin_type not in MARGINS:
            raise ValueError(f"unknown model.cosine_margin_type '{margin_type}' (known: {', '.join(MARGINS)})")
        self.units = units
        self.scale = scale
        self.margin = margin
        self.margin_type = margin_type
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                      regularizer=self.kernel_regularizer, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", trainable=False, name="bias")

    def call(self, x):
        return normalized_logits(x, self.kernel, self.bias, self.scale)

    def margin_logits(self, logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return margin_logits(logits, tf.cast(labels, tf.int32), self.bias, self.scale, self.margin, self.margin_type)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "scale": self.scale,
            "margin": self.margin,
            "margin_type": self.margin_type,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
