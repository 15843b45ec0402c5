"""Checking an uploaded query image before the model sees it.

Every refusal is an :class:`UploadRejected` with the HTTP status the service answers
and a message that says what was wrong:

    415  the request is not an image upload (wrong content type)
    400  empty body, no ``image`` field, not an image, a truncated or undecodable image
    413  over ``service.max_image_bytes`` bytes or ``service.max_image_pixels`` pixels

Images are decoded in full with Pillow (components/image_validation.py, the check the
ingest step uses), so truncated files are caught here; formats TensorFlow cannot
decode (WebP, TIFF, ...) are re-encoded as PNG.
"""

from __future__ import annotations

import dataclasses

from components.image_validation import ImageError, checked_image_bytes

IMAGE_CONTENT_TYPES = ("image/", "application/octet-stream")
MULTIPART = "multipart/form-data"


class UploadRejected(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class UploadLimits:
    max_image_bytes: int = 10_000_000
    max_image_pixels: int = 40_000_000

    @classmethod
    def from_config(cls, service_config) -> "UploadLimits":
        return cls(service_config.max_image_bytes, service_config.max_image_pixels)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> str:
    """The request's media type when it can carry an image; else 415."""
    kind = media_type(content_type)
    if kind == MULTIPART or kind.startswith(IMAGE_CONTENT_TYPES):
        return kind
    shown = kind or "none"
    raise UploadRejected(
        415,
        f"wrong content type '{shown}': send the image as multipart/form-data (field 'image') "
        "or as the raw body with an image/* content type",
    )


def check_declared_length(content_length: str | None, limits: UploadLimits) -> None:
    """Refuses early when the client declares a body over the byte limit."""
    if content_length and content_length.isdigit() and int(content_length) > limits.max_image_bytes + 64_000:
        raise UploadRejected(
            413, f"request body of {int(content_length)} bytes is over the limit of {limits.max_image_bytes} bytes"
        )


def checked_upload(data: bytes, limits: UploadLimits) -> bytes:
    """The image bytes the model can decode, or UploadRejected saying what is wrong."""
    if not data:
        raise UploadRejected(400, "empty upload: the request carries no image bytes")
    if len(data) > limits.max_image_bytes:
        raise UploadRejected(
            413, f"image of {len(data)} bytes is over the limit of {limits.max_image_bytes} bytes"
        )
    try:
        image, _ = checked_image_bytes(data, max_pixels=limits.max_image_pixels)
    except ImageError as e:
        message = str(e)
        if "over the limit" in message:
            raise UploadRejected(413, message) from None
        if "truncated" in message.lower():
            raise UploadRejected(400, f"truncated image: {message}") from None
        raise UploadRejected(400, message) from None
    return image
