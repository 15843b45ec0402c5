"""A three-label vocabulary and small PNGs for exporting and calling serving modules
(models/export.py) in tests."""

from __future__ import annotations

import io

from PIL import Image

from models import features

LABELS = ["sku-a", "sku-b", "sku-c"]
SIZE = 8


class VocabularyOnly:
    """The part of a TFTransformOutput that ServingModule reads."""

    def vocabulary_by_name(self, name):
        assert name == features.LABEL_VOCABULARY
        return [label.encode("utf-8") for label in LABELS]


def png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (SIZE + 3, SIZE), colour).save(out, format="PNG")
    return out.getvalue()
