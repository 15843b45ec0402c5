"""`sicot ingest`: the pipeline's ingest step run alone, outside TFX.

The same Beam graph as the pipeline's first node (components/ingest_pipeline.py with
components/manifest_source.py, as ManifestExampleGen runs it), on the DirectRunner
with the pipeline's Beam options, written to a folder instead of an artifact::

    <ingest_dir>/Split-train/data_tfrecord-*.gz
    <ingest_dir>/Split-validation/data_tfrecord-*.gz
    <ingest_dir>/Split-eval/data_tfrecord-*.gz        (the test split)
    <ingest_dir>/ingest_report.json

The eval (test) split is ``eval_manifest``, or a per-class hold-out of the training
manifest; the validation split is ``validation_manifest``, or a per-class hold-out of
what training keeps after that (components/class_balanced_split.py). Every rejected
row is listed in the report with its manifest, line and reason; the valid rows around
it go through. The step fails (IngestError) when no row is valid or when the share of
rejected rows exceeds ``max_reject_ratio``: the report is written first, the
TFRecords are not (they are written to a temporary folder, moved into place on
success). A second ingest of unchanged inputs (:func:`input_fingerprint`) is skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Sequence

from components.ingest_pipeline import REPORT_NAME, SPLITS, IngestError, read_report, run_ingest, split_files
from components.manifest import ManifestRow, Reject, read_manifest
from components.manifest_example_gen import manifest_inputs
from components.manifest_source import ManifestSource
from sicot.config import DataConfig

__all__ = ["IngestError", "IngestResult", "ingest", "input_fingerprint", "SPLITS", "REPORT_NAME"]
STAMP_NAME = ".ingest-stamp"
DEFAULT_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


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


def manifests_of(options: DataConfig) -> dict[str, str | None]:
    return {"train": options.manifest, "eval": options.eval_manifest, "validation": options.validation_manifest}


# While fingerprints_held() is open: fingerprint by (options, manifest state).
_held: dict | None = None


@contextlib.contextmanager
def fingerprints_held():
    """Within the block, the fingerprint of the same options and manifests (same size and
    mtime) is computed once: ``sicot compare`` builds the pipeline once per variant over
    inputs that do not change meanwhile. Outside it, every call looks at every image."""
    global _held
    outer, _held = _held, ({} if _held is None else _held)
    try:
        yield
    finally:
        _held = outer


def input_fingerprint(options: DataConfig) -> str:
    """Changes when the manifests, the images they name (size, mtime) or the options do:
    a stat of every image (seconds on the bundled data, minutes at millions of images)."""
    state = []
    for manifest in filter(None, manifests_of(options).values()):
        try:
            st = Path(manifest).stat()
        except OSError:
            return "missing"
        state.append((str(manifest), st.st_size, st.st_mtime_ns))
    key = (json.dumps(dataclasses.asdict(options), sort_keys=True), tuple(state))
    if _held is not None and key in _held:
        return _held[key]
    h = hashlib.sha256(key[0].encode())
    for manifest, _, _ in state:
        path = Path(manifest)
        with open(path, "rb") as f:  # streamed: a manifest can be larger than memory
            while block := f.read(1 << 20):
                h.update(block)
        for item in read_manifest(path):
            if isinstance(item, ManifestRow):
                try:
                    st = item.image_path.stat()
                    h.update(f"{item.image_path}:{st.st_size}:{st.st_mtime_ns}".encode())
                except OSError:
                    h.update(f"{item.image_path}:missing".encode())
    fingerprint = h.hexdigest()
    if _held is not None:
        _held[key] = fingerprint
    return fingerprint


def _result(out: Path, report: dict, skipped: bool = False) -> IngestResult:
    rejects = [Reject(**r) for r in report["rejects"]]
    return IngestResult(out / REPORT_NAME, {s: out / f"Split-{s}" for s in SPLITS}, report["counts"], rejects,
                        skipped=skipped)


def ingest(options: DataConfig, out_dir: str | os.PathLike, force: bool = False,
           beam_args: Sequence[str] = DEFAULT_BEAM_ARGS) -> IngestResult:
    import apache_beam as beam

    out = Path(out_dir).absolute()
    stamp = input_fingerprint(options)
    stamp_path = out / STAMP_NAME
    report_path = out / REPORT_NAME
    if not force and stamp_path.exists() and stamp_path.read_text() == stamp and report_path.exists():
        return _result(out, read_report(str(report_path)), skipped=True)

    out.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    partial = out / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    manifests = manifests_of(options)
    inputs = manifest_inputs(manifests)
    try:
        report = run_ingest(lambda: beam.Pipeline(argv=list(beam_args)), ManifestSource.of(manifests), options,
                            str(partial), str(report_path), inputs)
    except IngestError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for split in SPLITS:
        shutil.rmtree(out / f"Split-{split}", ignore_errors=True)
        (partial / f"Split-{split}").rename(out / f"Split-{split}")
    shutil.rmtree(partial, ignore_errors=True)
    report["splits"] = split_files(str(out))
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    stamp_path.write_text(stamp)
    return _result(out, report)
