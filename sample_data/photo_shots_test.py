import io

import numpy as np
from PIL import Image

from sample_data.photo_shots import photo_shot


def _render():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((220, 30, 30, 255), (16, 16, 48, 48))
    return image


def test_same_seed_same_bytes_other_seed_other_photo():
    a, settings = photo_shot(_render(), 7)
    assert photo_shot(_render(), 7)[0] == a
    assert photo_shot(_render(), 8)[0] != a
    assert set(settings) >= {"background", "position", "blur", "noise", "jpeg_quality"}


def test_a_jpeg_of_the_frame_size_with_the_object_inside():
    for seed in range(20):
        data, settings = photo_shot(_render(), seed, size=48)
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.size == (48, 48)
        (x, y), (w, h) = settings["position"], settings["object_size"]
        assert 0 <= x and x + w <= 48 and 0 <= y and y + h <= 48
        assert 0.5 * 48 <= max(w, h) <= 48
        assert 45 <= settings["jpeg_quality"] <= 90


def test_the_object_is_visible_in_the_photo():
    data, settings = photo_shot(_render(), 3)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
    (x, y), (w, h) = settings["position"], settings["object_size"]
    centre = pixels[y + h // 2 - 2: y + h // 2 + 2, x + w // 2 - 2: x + w // 2 + 2]
    assert centre[..., 0].mean() > centre[..., 1].mean() + 40  # red stays red under the lighting changes
