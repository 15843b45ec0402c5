"""Encoded images -> [-1, 1] pixels: formats, channel counts, alpha on white, layout.

models/preprocessing_test.py checks opaque RGB, fully transparent RGBA and grey PNGs
through Transform; these check decode_image(s) directly on the other cases."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models.image_preprocessing import decode_image, decode_images


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _solid(mode, color, size=(6, 4)) -> Image.Image:
    return Image.new(mode, size, color)


def _scaled(*rgb255) -> np.ndarray:
    return np.array(rgb255, dtype="float32") / 255 * 2 - 1


@pytest.mark.parametrize(
    "encoded, rgb",
    [
        (_encode(_solid("RGB", (255, 128, 0))), _scaled(255, 128, 0)),
        (_encode(_solid("RGB", (0, 0, 255)), "BMP"), _scaled(0, 0, 255)),
        (_encode(_solid("L", 64)), _scaled(64, 64, 64)),  # grey repeated to RGB
        # Alpha 128 of 255 on white: c * a + (1 - a).
        (_encode(_solid("RGBA", (0, 0, 255, 128))), _scaled(127, 127, 255)),
        (_encode(_solid("LA", (0, 128))), _scaled(127, 127, 127)),  # grey + alpha
        (_encode(_solid("RGBA", (10, 200, 30, 255))), _scaled(10, 200, 30)),  # opaque: as is
    ],
    ids=["rgb_png", "bmp", "grey", "rgba_half", "grey_alpha", "rgba_opaque"],
)
def test_channel_counts_and_alpha_on_white(encoded, rgb):
    pixels = decode_image(encoded, 3).numpy()
    assert pixels.shape == (3, 3, 3) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels, np.broadcast_to(rgb, (3, 3, 3)), atol=1.5 / 255)


def test_animated_gif_gives_its_first_frame():
    red, blue = _solid("RGB", (255, 0, 0)), _solid("RGB", (0, 0, 255))
    pixels = decode_image(_encode(red, "GIF", save_all=True, append_images=[blue]), 2).numpy()
    np.testing.assert_allclose(pixels, np.broadcast_to([1.0, -1.0, -1.0], (2, 2, 3)), atol=1e-6)


def test_jpeg_is_decoded_close_to_its_colour():
    pixels = decode_image(_encode(_solid("RGB", (0, 255, 0), (8, 8)), "JPEG", quality=95), 4).numpy()
    np.testing.assert_allclose(pixels, np.broadcast_to([-1.0, 1.0, -1.0], (4, 4, 3)), atol=0.05)


def test_resize_keeps_left_right_and_top_bottom():
    wide = np.zeros((4, 8, 3), np.uint8)  # H 4, W 8: right half white
    wide[:, 4:] = 255
    pixels = decode_image(_encode(Image.fromarray(wide)), 4).numpy()[..., 0]
    np.testing.assert_allclose(pixels, np.tile([-1.0, -0.75, 0.75, 1.0], (4, 1)), atol=1e-5)
    tall = np.zeros((8, 4, 3), np.uint8)  # bottom half white
    tall[4:] = 255
    pixels = decode_image(_encode(Image.fromarray(tall)), 4).numpy()[..., 0]
    np.testing.assert_allclose(pixels, np.tile([[-1.0], [-0.75], [0.75], [1.0]], (1, 4)), atol=1e-5)
    assert pixels.min() >= -1.0 and pixels.max() <= 1.0


@pytest.mark.parametrize("shape", [[3], [3, 1]])
def test_a_batch_keeps_its_order(shape):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    encoded = tf.reshape(tf.constant([_encode(_solid("RGB", c)) for c in colours]), shape)
    pixels = decode_images(encoded, 5).numpy()
    assert pixels.shape == (3, 5, 5, 3)
    for image, colour in zip(pixels, colours):
        np.testing.assert_allclose(image, np.broadcast_to(_scaled(*colour), (5, 5, 3)), atol=1e-6)


def test_bytes_that_are_no_image_are_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        decode_image(tf.constant(b"not an image"), 4)
