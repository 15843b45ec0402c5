"""Manifests (JSON Lines / CSV of image paths, labels, titles) as the input of the
ingest graph (components/ingest_pipeline.py).

A record is one manifest row (components/manifest.py). Pass 1 reads its image file and
checks it (components/image_validation.py); pass 2 reads the file again and writes the
row as a tf.Example of models/features.py, its ``example_id`` ``<manifest name>:<line>``
so that every example traces back to its row.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Iterator

from components.image_validation import ImageError, checked_image_bytes, tf_decodable_bytes
from components.ingest_pipeline import Checked, Record
from components.manifest import (ManifestRow, Reject, check_manifest, is_jsonl, jsonl_chunks, piece_bytes,
                                 read_manifest, read_manifest_range)
from components.example_encoding import encode_example


@dataclasses.dataclass(frozen=True)
class ManifestSource:
    """The manifests of each split: ``{"train": path, "eval": path, ...}`` (train required)."""

    manifests: tuple[tuple[str, str], ...]  # (split, manifest path)
    # JSON Lines manifests are read in pieces of about this size; None: by the
    # manifest's size (components/manifest.py: piece_bytes).
    chunk_bytes: int | None = None

    @classmethod
    def of(cls, manifests: dict[str, str | None]) -> "ManifestSource":
        """Raises ManifestError at once for a manifest that cannot be read at all."""
        # The path as the reader names its rows (str(Path(...))): pass 1 and pass 2 key
        # records by it.
        given = tuple((split, str(Path(path))) for split, path in manifests.items() if path)
        for _, path in given:
            check_manifest(path)
        return cls(given)

    def inputs(self) -> list[tuple[str, str]]:
        return list(self.manifests)

    def chunks(self, split_and_path: tuple[str, str]) -> Iterator[tuple]:
        split, path = split_and_path
        if is_jsonl(path):
            piece_size = self.chunk_bytes or piece_bytes(Path(path).stat().st_size)
            for start, end, first_line in jsonl_chunks(path, piece_size):
                yield split, path, (start, end, first_line)
        else:  # CSV: a quoted field may hold a newline, so no byte-range cuts: one worker streams it
            yield split, path, None

    def read(self, chunk: tuple) -> Iterator[Record]:
        split, path, piece = chunk
        items = read_manifest(path) if piece is None else read_manifest_range(path, *piece)
        for item in items:
            yield Record(split, item.source, item.line, item)

    def _image(self, row: ManifestRow) -> tuple[bytes, bytes] | Reject:
        """(the bytes as read, bytes TensorFlow decodes) or why not."""
        try:
            raw = row.image_path.read_bytes()
        except FileNotFoundError:
            return Reject(row.source, row.line, "image file not found", str(row.image_path))
        except OSError as e:
            return Reject(row.source, row.line, f"image file unreadable ({e.strerror})", str(row.image_path))
        try:
            image, _ = checked_image_bytes(raw)
        except ImageError as e:
            return Reject(row.source, row.line, str(e), str(row.image_path))
        return raw, image

    def check(self, record: Record) -> Checked | Reject:
        row = record.payload
        if isinstance(row, Reject):
            return row
        loaded = self._image(row)
        if isinstance(loaded, Reject):
            return loaded
        raw, _ = loaded
        return Checked(record.split, row.source, row.line, row.label, hashlib.sha256(raw).digest(),
                       empty_title=not row.title)

    def encode(self, record: Record) -> bytes:
        # Pass 1 checked this image in full; here it is only re-encoded when TensorFlow
        # cannot decode its format.
        row: ManifestRow = record.payload
        image = tf_decodable_bytes(row.image_path.read_bytes())
        return encode_example(image=image, title=row.title, label=row.label, sku=row.sku, tags=row.tags,
                              example_id=f"{Path(row.source).name}:{row.line}")
