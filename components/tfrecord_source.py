"""The user's own TFRecords of tf.Examples as the input of the ingest graph
(components/ingest_pipeline.py), their feature names mapped to ours.

A record is one serialized record of a TFRecord file (the Examples artifact that
ImportExampleGen made of the user's files), located by file and index. Pass 1 checks it
and finds every kind of bad example that would otherwise stop a run further down
(Transform decodes every image; one that does not decode fails the whole step): a
record that is not a tf.Example, a missing or empty image, an image that does not
decode (components/image_validation.py), a missing or empty label, a title, label, sku
or tag that is not UTF-8. Each is rejected with its split, file, index and example id.
Pass 2 writes the record again under our feature names (models/features.py), the
image re-encoded only when TensorFlow cannot decode its format.

A TFRecord file whose framing is corrupt (a bad length or checksum) loses the rest of
that file, reported as one reject at the index where reading stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Iterator

from components.example_encoding import encode_example
from components.image_validation import ImageError, checked_image_bytes, tf_decodable_bytes
from components.ingest_pipeline import Checked, Record
from components.manifest import Reject
from sicot.config import ExamplesConfig


class CorruptRecordFile(ValueError):
    pass


def _masked_crc(data: bytes) -> int | None:
    try:
        import google_crc32c
    except ImportError:  # no check without it; the framing is still checked
        return None
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_payloads(path: str) -> Iterator[bytes]:
    """The records of a TFRecord file (GZIP when it ends in .gz), one at a time.

    Its own reader, not tf.data's: a file cut short must be an error here (tf.data
    ends such a file quietly), and the record index where it broke is reported.
    Format: uint64 length, uint32 masked CRC-32C of the length, data, uint32 masked
    CRC-32C of the data (little-endian).
    """
    import gzip
    import struct

    import tensorflow as tf

    raw = tf.io.gfile.GFile(path, "rb")
    with (gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw) as f:
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise CorruptRecordFile("file ends inside a record header")
            length, length_crc = struct.unpack("<QI", header)
            expected = _masked_crc(header[:8])
            if expected is not None and expected != length_crc:
                raise CorruptRecordFile("record length checksum mismatch")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise CorruptRecordFile("file ends inside a record")
            expected = _masked_crc(data)
            if expected is not None and expected != struct.unpack("<I", footer)[0]:
                raise CorruptRecordFile("record data checksum mismatch")
            yield data


@dataclasses.dataclass(frozen=True)
class _Parsed:
    image: bytes
    title: str
    label: str
    sku: str
    tags: tuple[str, ...]
    example_id: str


class _Bad(ValueError):
    pass


def _texts(feature, what: str) -> list[str]:
    try:
        return [v.decode("utf-8") for v in feature.bytes_list.value]
    except UnicodeDecodeError:
        raise _Bad(f"{what} is not valid UTF-8") from None


@dataclasses.dataclass(frozen=True)
class TFRecordSource:
    files: tuple[tuple[str, str], ...]  # (split, TFRecord file)
    names: ExamplesConfig = dataclasses.field(default_factory=ExamplesConfig)  # their *_feature names

    def inputs(self) -> list[tuple[str, str]]:
        return list(self.files)

    def chunks(self, split_and_path: tuple[str, str]) -> Iterator[tuple]:
        yield split_and_path  # a file is read by one worker, in order (the record index)

    def read(self, split_and_path: tuple[str, str]) -> Iterator[Record]:
        split, path = split_and_path
        count = 0
        try:
            for data in tfrecord_payloads(path):
                yield Record(split, path, count, data)
                count += 1
        except (CorruptRecordFile, OSError, EOFError) as e:
            reason = f"TFRecord file corrupt from this record on ({e})"
            yield Record(split, path, count, Reject(path, count, reason, split=split))

    def _parse(self, record: Record) -> _Parsed:
        import tensorflow as tf
        from google.protobuf.message import DecodeError

        try:
            example = tf.train.Example.FromString(record.payload)
        except DecodeError:
            raise _Bad("not a tf.Example") from None
        f = example.features.feature
        n = self.names
        example_id = _texts(f[n.example_id_feature], "example id") if n.example_id_feature in f else []
        example_id = example_id[0] if example_id else f"{os.path.basename(record.source)}:{record.line}"
        images = list(f[n.image_feature].bytes_list.value) if n.image_feature in f else []
        if not images or not images[0]:
            raise _Bad(f"no image (feature '{n.image_feature}' missing or empty)", example_id)
        labels = _texts(f[n.label_feature], "label") if n.label_feature in f else []
        if not labels or not labels[0].strip():
            raise _Bad(f"missing label (feature '{n.label_feature}')", example_id)
        titles = _texts(f[n.title_feature], "title") if n.title_feature in f else []
        skus = _texts(f[n.sku_feature], "sku") if n.sku_feature in f else []
        tags = _texts(f[n.tags_feature], "tags") if n.tags_feature in f else []
        label = labels[0].strip()
        return _Parsed(images[0], " ".join(" ".join(titles[:1]).split()), label,
                       skus[0].strip() if skus and skus[0].strip() else label, tuple(t.strip() for t in tags),
                       example_id)

    def check(self, record: Record) -> Checked | Reject:
        if isinstance(record.payload, Reject):
            return record.payload
        try:
            parsed = self._parse(record)
            checked_image_bytes(parsed.image)
        except _Bad as e:
            example_id = e.args[1] if len(e.args) > 1 else None
            return Reject(record.source, record.line, e.args[0], example_id, split=record.split)
        except ImageError as e:
            return Reject(record.source, record.line, str(e), parsed.example_id, split=record.split)
        return Checked(record.split, record.source, record.line, parsed.label,
                       hashlib.sha256(parsed.image).digest(), empty_title=not parsed.title)

    def encode(self, record: Record) -> bytes:
        parsed = self._parse(record)
        return encode_example(image=tf_decodable_bytes(parsed.image), title=parsed.title, label=parsed.label,
                              sku=parsed.sku, tags=parsed.tags, example_id=parsed.example_id)
