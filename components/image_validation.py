"""Checking that an image file is whole and decodable, before it reaches TensorFlow.

TensorFlow's ``tf.io.decode_image`` reads PNG, JPEG, GIF and BMP. Other formats that
Pillow can read (WebP, TIFF, ...) are re-encoded as PNG so that no image is lost.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

TF_DECODABLE_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP"})


class ImageError(ValueError):
    """An image that cannot be used; the message says why."""


def checked_image_bytes(data: bytes, max_pixels: int = 50_000_000) -> tuple[bytes, str]:
    """Returns (bytes TensorFlow can decode, the original format) or raises ImageError."""
    if not data:
        raise ImageError("image file is empty")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # structure and checksums
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or "unknown"
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"image has {width}x{height} pixels, over the limit {max_pixels}")
            if fmt == "JPEG":
                # The bytes go on unchanged: decoding at 1/8 scale still reads every
                # scan (truncation is found) at a fraction of the cost.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()  # decodes all pixel data: finds truncated files
            if fmt in TF_DECODABLE_FORMATS:
                return data, fmt
            converted = io.BytesIO()
            image.convert("RGBA" if "A" in image.getbands() else "RGB").save(converted, "PNG")
            return converted.getvalue(), fmt
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image (unknown format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"image cannot be decoded ({e})") from None


# The first bytes of the formats in TF_DECODABLE_FORMATS.
_TF_DECODABLE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def tf_decodable_bytes(data: bytes) -> bytes:
    """Bytes of an image checked before (checked_image_bytes): unchanged when their format
    is one TensorFlow decodes (a look at the first bytes, no decoding), else re-encoded."""
    if data.startswith(_TF_DECODABLE_SIGNATURES):
        return data
    return checked_image_bytes(data)[0]
