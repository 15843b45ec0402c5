"""The reference of bench/ingest_scaling.py: sicot's ingest before it moved into the
pipeline (issue 14), one Python process that reads and checks every image, holds all
accepted images in memory, carves the per-class hold-out and writes the TFRecords.

Kept only as the benchmark's yardstick (throughput, memory, and the hold-out choices
the Beam graph must reproduce); the product runs components/ingest_pipeline.py. It
uses the product's own row reader, image check, hold-out rule and example encoding, so
the comparison is of the two designs, not of two implementations of the checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tensorflow as tf

from components.class_balanced_split import split_by_class
from components.example_encoding import encode_example
from components.image_validation import ImageError, checked_image_bytes
from components.manifest import ManifestRow, read_manifest
from sicot.config import DataConfig


def single_process_ingest(options: DataConfig, out_dir: Path) -> dict[str, list[str]]:
    """Ingests options.manifest (hold-out for eval and validation); returns split -> example ids."""
    seen: set[str] = set()
    accepted = []  # (row, image bytes, digest): every image of the data set in memory
    for item in read_manifest(options.manifest):
        if not isinstance(item, ManifestRow):
            continue
        try:
            raw = item.image_path.read_bytes()
            image, _ = checked_image_bytes(raw)
        except (OSError, ImageError):
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        accepted.append((item, image, digest))
    splits = {}
    train = accepted
    for split, per_class, fraction, seed in (
            ("eval", options.eval_per_class, options.eval_max_fraction, options.seed),
            ("validation", options.validation_per_class, options.validation_max_fraction, options.seed + 1)):
        chosen = split_by_class([a[0].label for a in train], [a[2] for a in train], per_class, fraction, seed)
        splits[split] = [a for a, c in zip(train, chosen) if c]
        train = [a for a, c in zip(train, chosen) if not c]
    splits["train"] = train
    ids = {}
    for split, items in splits.items():
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        with tf.io.TFRecordWriter(str(out_dir / split / "data.tfrecord.gz"), "GZIP") as writer:
            for row, image, _ in items:
                example_id = f"{Path(row.source).name}:{row.line}"
                writer.write(encode_example(image, row.title, row.label, row.sku, row.tags, example_id))
        ids[split] = sorted(f"{Path(row.source).name}:{row.line}" for row, _, _ in items)
    return ids
