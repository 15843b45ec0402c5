import io

import pytest
from PIL import Image

from serving.upload_checks import UploadLimits, UploadRejected, check_content_type, check_declared_length, checked_upload
from tests.tiny_catalogue import png_bytes

LIMITS = UploadLimits(max_image_bytes=5_000, max_image_pixels=10_000)


def _rejected(data: bytes, limits=LIMITS) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        checked_upload(data, limits)
    return info.value


def test_a_whole_png_passes_unchanged():
    data = png_bytes((1, 2, 3), size=(20, 20))
    assert checked_upload(data, LIMITS) == data


def test_webp_is_reencoded_as_png_for_tensorflow():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(buf, "WEBP")
    out = checked_upload(buf.getvalue(), LIMITS)
    assert out.startswith(b"\x89PNG") and Image.open(io.BytesIO(out)).size == (8, 8)


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"", 400, "empty upload"),
        (b"%PDF-1.4 not an image at all", 400, "not an image"),
        (png_bytes((1, 2, 3), size=(60, 60))[:-30], 400, "cannot be decoded"),
        (b"\x89PNG" + b"\0" * 6000, 413, "over the limit of 5000 bytes"),
        (png_bytes((1, 2, 3), size=(101, 100)), 413, "101x100 pixels, over the limit 10000"),
    ],
    ids=["empty", "not-an-image", "broken", "too-many-bytes", "too-many-pixels"],
)
def test_bad_uploads_say_what_is_wrong(data, status, words):
    e = _rejected(data)
    assert e.status == status and words in e.message


def test_truncated_jpeg_is_called_truncated():
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(buf, "JPEG")
    e = _rejected(buf.getvalue()[: len(buf.getvalue()) // 2], UploadLimits())
    assert e.status == 400 and e.message.startswith("truncated image")


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "image/png", "IMAGE/JPEG",
                                          "application/octet-stream"])
def test_image_carrying_content_types_pass(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded"])
def test_other_content_types_get_415_naming_the_type(content_type):
    with pytest.raises(UploadRejected) as info:
        check_content_type(content_type)
    assert info.value.status == 415
    assert f"wrong content type '{(content_type or 'none').split(';')[0].lower()}'" in info.value.message


def test_a_declared_body_far_over_the_limit_is_refused_before_reading():
    check_declared_length("5000", LIMITS)
    with pytest.raises(UploadRejected) as info:
        check_declared_length("900000", LIMITS)
    assert info.value.status == 413 and "900000 bytes" in info.value.message
