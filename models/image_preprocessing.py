"""Encoded image bytes -> fixed-size float pixels, the same in Transform and in serving.

PNG, JPEG, GIF (first frame) and BMP are decoded with any channel count: grey is
repeated to RGB, and an alpha channel is composited on white (product photos and
emoji on a transparent background keep their look). The result is resized to
``size x size`` and scaled to [-1, 1].
"""

from __future__ import annotations

import tensorflow as tf


def _to_rgba(image: tf.Tensor) -> tf.Tensor:
    """[H, W, C] float in [0, 1] with C in 1..4 -> [H, W, 4]."""
    channels = tf.shape(image)[-1]
    ones = tf.ones_like(image[..., :1])

    def grey():
        return tf.concat([tf.repeat(image[..., :1], 3, axis=-1), ones], axis=-1)

    def grey_alpha():
        return tf.concat([tf.repeat(image[..., :1], 3, axis=-1), image[..., 1:2]], axis=-1)

    def rgb():
        return tf.concat([image[..., :3], ones], axis=-1)

    def rgba():
        return image[..., :4]

    return tf.switch_case(tf.clip_by_value(channels - 1, 0, 3), [grey, grey_alpha, rgb, rgba])


def decode_image(encoded: tf.Tensor, size: int) -> tf.Tensor:
    """One encoded image (scalar string) -> [size, size, 3] float32 in [-1, 1]."""
    image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)  # [0, 1]
    rgba = _to_rgba(image)
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])
    rgb = tf.image.resize(rgb, [size, size], method="bilinear", antialias=True)
    rgb = tf.clip_by_value(rgb, 0.0, 1.0)
    return rgb * 2.0 - 1.0


def decode_images(encoded: tf.Tensor, size: int) -> tf.Tensor:
    """A batch of encoded images, shape [B] (or [B, 1]) -> [B, size, size, 3]."""
    encoded = tf.reshape(encoded, [-1])
    return tf.map_fn(
        lambda x: decode_image(x, size),
        encoded,
        fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32),
    )
