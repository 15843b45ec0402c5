"""`sicot ingest`: image manifest(s) -> sharded TFRecords of tf.Examples + ingest report.

Output layout (the input of the pipeline's ImportExampleGen)::

    <ingest_dir>/train/data-00000-of-0000N.tfrecord
    <ingest_dir>/validation/data-00000-of-0000N.tfrecord
    <ingest_dir>/eval/data-00000-of-0000N.tfrecord       (the test split)
    <ingest_dir>/ingest_report.json

The eval (test) split is ``eval_manifest``, or a per-class hold-out of the training
manifest; the validation split (for tuning, so that the test split is read once per
final configuration) is ``validation_manifest``, or a per-class hold-out of what
training keeps after that (``components/class_balanced_split.py``, each with its own
per-class cap and share). A row of an eval or validation manifest whose label no
training image has is rejected.

Every rejected row is listed in the report with its manifest, line and reason; the
valid rows around it go through. The run fails (IngestError) when no row is valid or
when the share of rejected rows exceeds ``max_reject_ratio``; the report is written
first either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from tqdm import tqdm

from components.class_balanced_split import split_by_class
from components.image_validation import ImageError, checked_image_bytes
from components.manifest import ManifestRow, Reject, read_manifest
from models import features
from sicot.config import DataConfig

REPORT_NAME = "ingest_report.json"
STAMP_NAME = ".ingest-stamp"
SPLITS = ("train", "validation", "eval")


class IngestError(RuntimeError):
    """Ingestion produced nothing usable, or rejected too much."""


@dataclasses.dataclass
class _Accepted:
    row: ManifestRow
    image: bytes
    digest: str


@dataclasses.dataclass
class IngestResult:
    report_path: Path
    split_dirs: dict[str, Path]
    counts: dict[str, int]
    rejects: list[Reject]
    skipped: bool = False

    def summary(self) -> str:
        c = self.counts
        return (
            f"ingest: {c['rows']} rows -> {c['train']} train + {c['validation']} validation + {c['eval']} test examples "
            f"of {c['classes']} classes, {c['rejected']} rejected "
            f"(report: {self.report_path})"
        )


def _load_rows(
    rows: Iterable[ManifestRow | Reject], seen: dict[str, str], desc: str
) -> tuple[list[_Accepted], list[Reject], int]:
    """Reads and checks each row's image; rejects missing, broken and duplicate ones."""
    accepted, rejects, total = [], [], 0
    for item in tqdm(list(rows), desc=desc, unit="img", mininterval=1.0, leave=False):
        total += 1
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        where = f"{item.source}:{item.line}"
        try:
            raw = item.image_path.read_bytes()
        except FileNotFoundError:
            rejects.append(Reject(item.source, item.line, "image file not found", str(item.image_path)))
            continue
        except OSError as e:
            rejects.append(Reject(item.source, item.line, f"image file unreadable ({e.strerror})", str(item.image_path)))
            continue
        try:
            image, _ = checked_image_bytes(raw)
        except ImageError as e:
            rejects.append(Reject(item.source, item.line, str(e), str(item.image_path)))
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            rejects.append(
                Reject(item.source, item.line, f"exact duplicate of the image at {seen[digest]}", str(item.image_path))
            )
            continue
        seen[digest] = where
        accepted.append(_Accepted(item, image, digest))
    return accepted, rejects, total


def _load_known_labels(
    manifest: str, seen: dict[str, str], train_items: list[_Accepted], split: str
) -> tuple[list[_Accepted], list[Reject], int]:
    """The rows of a held-out split's manifest; a label no training image has is rejected."""
    train_labels = {a.row.label for a in train_items}
    loaded, rejects, total = _load_rows(read_manifest(manifest), seen, f"ingest {split}")
    items = []
    for a in loaded:
        if a.row.label in train_labels:
            items.append(a)
        else:
            rejects.append(
                Reject(a.row.source, a.row.line, f"unknown label '{a.row.label}': no training image has it",
                       str(a.row.image_path))
            )
    if loaded and not items:
        setting = "data.eval_manifest" if split == "eval" else f"data.{split}_manifest"
        raise IngestError(
            f"{setting} {manifest} shares no label with data.manifest {train_items[0].row.source}: "
            f"is it the {split} split of another data set? Set {setting} to this data's own, or to null "
            "for a per-class hold-out of the training manifest"
        )
    return items, rejects, total


def _example(item: _Accepted) -> bytes:
    import tensorflow as tf

    def b(values: Sequence[str | bytes]) -> tf.train.Feature:
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[v.encode() if isinstance(v, str) else v for v in values])
        )

    row = item.row
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                features.IMAGE: b([item.image]),
                features.TITLE: b([row.title]),
                features.LABEL: b([row.label]),
                features.SKU: b([row.sku]),
                features.TAGS: b(list(row.tags)),
                features.EXAMPLE_ID: b([f"{Path(row.source).name}:{row.line}"]),
            }
        )
    ).SerializeToString()


def _write_split(items: list[_Accepted], split_dir: Path, num_shards: int) -> list[str]:
    import tensorflow as tf

    split_dir.mkdir(parents=True, exist_ok=True)
    for old in split_dir.glob("data-*.tfrecord"):
        old.unlink()
    num_shards = max(1, min(num_shards, len(items))) if items else 1
    paths = [split_dir / f"data-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    try:
        for index, item in enumerate(items):
            writers[index % num_shards].write(_example(item))
    finally:
        for w in writers:
            w.close()
    return [str(p) for p in paths]


def _input_stamp(options: DataConfig) -> str:
    """Changes when the manifests, the images they name (size, mtime) or the options do."""
    h = hashlib.sha256(json.dumps(dataclasses.asdict(options), sort_keys=True).encode())
    for manifest in filter(None, [options.manifest, options.eval_manifest, options.validation_manifest]):
        path = Path(manifest)
        if not path.exists():
            return "missing"
        h.update(path.read_bytes())
        for item in read_manifest(path):
            if isinstance(item, ManifestRow):
                try:
                    st = item.image_path.stat()
                    h.update(f"{item.image_path}:{st.st_size}:{st.st_mtime_ns}".encode())
                except OSError:
                    h.update(f"{item.image_path}:missing".encode())
    return h.hexdigest()


def ingest(options: DataConfig, out_dir: str | os.PathLike, force: bool = False) -> IngestResult:
    out = Path(out_dir)
    report_path = out / REPORT_NAME
    split_dirs = {s: out / s for s in SPLITS}
    stamp = _input_stamp(options)
    stamp_path = out / STAMP_NAME
    if not force and stamp_path.exists() and stamp_path.read_text() == stamp and report_path.exists():
        report = json.loads(report_path.read_text())
        rejects = [Reject(**r) for r in report["rejects"]]
        return IngestResult(report_path, split_dirs, report["counts"], rejects, skipped=True)

    started = time.time()
    seen: dict[str, str] = {}
    train_items, rejects, total = _load_rows(read_manifest(options.manifest), seen, "ingest train")
    held_out: dict[str, list[_Accepted]] = {}
    for split, manifest, per_class, max_fraction, seed in (
        ("eval", options.eval_manifest, options.eval_per_class, options.eval_max_fraction, options.seed),
        ("validation", options.validation_manifest, options.validation_per_class,
         options.validation_max_fraction, options.seed + 1),
    ):
        if manifest:
            items, split_rejects, split_total = _load_known_labels(manifest, seen, train_items, split)
            total += split_total
            rejects += split_rejects
            held_out[split] = items
        else:
            chosen = split_by_class(
                [a.row.label for a in train_items], [a.digest for a in train_items], per_class, max_fraction, seed
            )
            held_out[split] = [a for a, c in zip(train_items, chosen) if c]
            train_items = [a for a, c in zip(train_items, chosen) if not c]
    eval_items, validation_items = held_out["eval"], held_out["validation"]

    rejects.sort(key=lambda r: (r.source, r.line))
    splits = {"train": train_items, "validation": validation_items, "eval": eval_items}
    split_counts = {split: Counter(a.row.label for a in items) for split, items in splits.items()}
    train_counts = split_counts["train"]
    counts = {
        "rows": total,
        "accepted": sum(len(items) for items in splits.values()),
        "rejected": len(rejects),
        **{split: len(items) for split, items in splits.items()},
        "classes": len(train_counts),
        "validation_classes": len(split_counts["validation"]),
        "eval_classes": len(split_counts["eval"]),
        "empty_titles": sum(1 for items in splits.values() for a in items if not a.row.title),
    }
    report = {
        "manifest": str(options.manifest),
        "eval_manifest": options.eval_manifest,
        "validation_manifest": options.validation_manifest,
        "options": dataclasses.asdict(options),
        "counts": counts,
        "rejects": [r.to_dict() for r in rejects],
        "reject_reasons": dict(Counter(r.reason.split(" (")[0].split(" at ")[0] for r in rejects)),
        "class_counts": {
            label: {split: split_counts[split].get(label, 0) for split in SPLITS}
            for label, _ in train_counts.most_common()
        },
        "splits": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    failure = None
    if counts["accepted"] == 0 or not train_items:
        failure = f"no valid training rows in {options.manifest} ({len(rejects)} rejected)"
    elif total and len(rejects) / total > options.max_reject_ratio:
        failure = (
            f"{len(rejects)} of {total} rows rejected ({len(rejects) / total:.1%}), over "
            f"data.max_reject_ratio={options.max_reject_ratio}"
        )
    if failure is None:
        for split, items in splits.items():
            report["splits"][split] = _write_split(items, split_dirs[split], options.num_shards)
    report["seconds"] = round(time.time() - started, 2)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if failure is not None:
        raise IngestError(f"{failure}; see {report_path}")
    stamp_path.write_text(stamp)
    return IngestResult(report_path, split_dirs, counts, rejects)
