"""Image checks: TF-decodable formats pass unchanged, others become PNG, bad files say why."""

import io

import numpy as np
import pytest
from PIL import Image

from components.image_validation import ImageError, checked_image_bytes


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def noisy(size=(64, 48), seed=0) -> Image.Image:
    """An RGB image that compresses badly, so that cutting its file loses pixel data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP"])
def test_formats_tensorflow_decodes_pass_byte_for_byte(fmt):
    data = encoded(Image.new("RGB", (7, 5), (200, 30, 40)), fmt)
    out, original = checked_image_bytes(data)
    assert original == fmt
    assert out == data


def test_webp_with_alpha_becomes_an_rgba_png_with_the_same_pixels():
    data = encoded(Image.new("RGBA", (5, 3), (10, 20, 30, 128)), "WEBP", lossless=True)
    out, original = checked_image_bytes(data)
    assert original == "WEBP"
    with Image.open(io.BytesIO(out)) as png:
        assert png.format == "PNG"
        assert png.mode == "RGBA"
        assert png.size == (5, 3)
        assert png.getpixel((4, 2)) == (10, 20, 30, 128)


@pytest.mark.parametrize("mode, colour, expected", [
    ("RGB", (1, 2, 3), (1, 2, 3)),
    ("CMYK", (0, 0, 0, 0), (255, 255, 255)),  # no ink = white
    ("L", 77, (77, 77, 77)),
])
def test_tiff_without_alpha_becomes_an_rgb_png(mode, colour, expected):
    data = encoded(Image.new(mode, (4, 6), colour), "TIFF")
    out, original = checked_image_bytes(data)
    assert original == "TIFF"
    with Image.open(io.BytesIO(out)) as png:
        assert (png.format, png.mode, png.size) == ("PNG", "RGB", (4, 6))
        assert png.getpixel((3, 5)) == expected


def test_tiff_with_alpha_keeps_its_transparency():
    data = encoded(Image.new("LA", (2, 2), (90, 0)), "TIFF")
    out, _ = checked_image_bytes(data)
    with Image.open(io.BytesIO(out)) as png:
        assert png.mode == "RGBA"
        assert png.getpixel((1, 1)) == (90, 90, 90, 0)


def test_empty_file():
    with pytest.raises(ImageError, match=r"^image file is empty$"):
        checked_image_bytes(b"")


@pytest.mark.parametrize("data", [b"hello, I am text", b"GIF8"])
def test_not_an_image(data):
    with pytest.raises(ImageError, match=r"^not an image \(unknown format\)$"):
        checked_image_bytes(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_a_truncated_file_is_found(fmt, keep):
    # JPEG is decoded at 1/8 scale (draft mode): truncation must still be seen.
    data = encoded(noisy(), fmt)
    with pytest.raises(ImageError, match=r"^image cannot be decoded \(.+\)$"):
        checked_image_bytes(data[: int(len(data) * keep)])


def test_the_whole_jpeg_is_not_mistaken_for_a_truncated_one():
    data = encoded(noisy(), "JPEG", quality=90)
    assert checked_image_bytes(data) == (data, "JPEG")


def test_pixel_limit_names_the_size_and_the_limit_and_is_inclusive():
    data = encoded(Image.new("RGB", (12, 10)), "PNG")
    assert checked_image_bytes(data, max_pixels=120)[1] == "PNG"
    with pytest.raises(ImageError, match=r"^image has 12x10 pixels, over the limit 119$"):
        checked_image_bytes(data, max_pixels=119)


def test_the_pixel_limit_also_applies_to_converted_formats():
    data = encoded(Image.new("RGB", (30, 30)), "TIFF")
    with pytest.raises(ImageError, match=r"image has 30x30 pixels, over the limit 899"):
        checked_image_bytes(data, max_pixels=899)


def test_image_error_is_a_value_error():
    # Callers (ingest, the upload checks) may catch ValueError for every bad input.
    assert issubclass(ImageError, ValueError)
