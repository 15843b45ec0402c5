"""The Beam graph of ingestion: records -> checked, de-duplicated, held-out examples.

One graph for every input the pipeline takes (manifests: components/manifest_source.py;
the user's own TFRecords: components/tfrecord_source.py), run by the pipeline's first
node (components/manifest_example_gen.py, components/example_screen.py) on whatever Beam
runner the pipeline uses, and by ``sicot ingest`` alone (components/ingest.py).

Two passes over the input, so that no step holds the images of the data set:

1. **check**: every record is read and checked (the image decodes, a label is there,
   the text is UTF-8). What goes on is small metadata (where the record came from, its
   label, the image's content hash), never the image. On that metadata, grouped per
   image hash: an exact duplicate of an earlier image is rejected (the training input
   first, then eval, then validation; by file and line). Grouped per class: a held-out
   record whose label no training record has is rejected, and when no input gives the
   eval or the validation split, the per-class hold-out of
   components/class_balanced_split.py picks them from the training records (eval first,
   with ``seed``; validation from what training keeps, with ``seed + 1``): the same
   choices as the single-process ingest for the same data and seed.
2. **write**: the records are read again and written as tf.Examples into
   ``<out>/Split-<split>/data_tfrecord-*.gz`` (the layout of TFX's Examples artifact; gzip
   with stored blocks, every split by one writer: components/stored_gzip_tfrecord.py).
   Pass 1's decisions come in as a side input that holds only the exceptions (held-out
   and rejected records: the number of classes times the hold-out cap, plus the
   rejects), not a table of every record; a record not in it goes to the split of its
   input. The write is not preceded by a shuffle: a shuffle groups the images (the
   DirectRunner keeps a grouping in memory), so files are written per bundle.

The same graph writes the report (``ingest_report.json``), from one combine over the
placed records and the rejects (:class:`ReportTally`): every rejected record with its
split, file, line (or record index) and reason, counts per split and per class. (The
graph is kept small on purpose: the DirectRunner pays a fixed cost per step and bundle,
which at 10k rows was as much as the second worker saved; README, "Ingest at 10k and
100k rows".)
Whether the run fails (nothing valid, too many rejects) is decided from the report
after the graph has run: :func:`check_report`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections import Counter
from typing import Any, Iterator, NamedTuple, Protocol, Sequence

import apache_beam as beam

from components.class_balanced_split import split_by_class
from components.manifest import Reject
from components.stored_gzip_tfrecord import WriteSplitsToStoredGzipTFRecord
from sicot.config import DataConfig

SPLITS = ("train", "validation", "eval")
# Which input's copy of an image is kept when the same bytes come twice: training first.
_INPUT_ORDER = {"train": 0, "eval": 1, "validation": 2}
REPORT_NAME = "ingest_report.json"
EXAMPLES_FILE_PREFIX = "data_tfrecord"
_METRICS_NAMESPACE = "sicot.ingest"


class IngestError(RuntimeError):
    """Ingestion produced nothing usable, or rejected too much."""


def record_key(source: str, line: int) -> str:
    """Where a record is, as one string: the key of pass 1's decisions in pass 2."""
    return f"{source}\x00{line}"


@dataclasses.dataclass(frozen=True)
class Record:
    """One input record: the split its input gives, where it is, what the source read."""

    split: str
    source: str  # the manifest or TFRecord file
    line: int  # manifest line, or the record's index in its TFRecord file
    payload: Any  # ManifestRow / Reject (manifests), serialized bytes (TFRecords)

    @property
    def key(self) -> str:
        return record_key(self.source, self.line)


class Checked(NamedTuple):
    """A record that passed pass 1, as its source reports it: its metadata, not its image."""

    split: str
    source: str
    line: int
    label: str
    digest: bytes  # sha256 of the image bytes (raw)
    empty_title: bool


class Meta(NamedTuple):
    """What the graph keeps of a checked record between pass 1's groupings: the runner
    holds one for every record while it groups them (the DirectRunner in memory), so it
    is small: the input file as an index into the graph's input list, not its path; the
    raw digest, not its hex; no image name (a reject decided on it, a duplicate or an
    unknown label, names its file and line); encoded as a plain tuple (:class:`MetaCoder`,
    no class name per record). About 60 bytes encoded against 216 for a pickled Checked."""

    split: str
    input_id: int  # index of the record's file in ``paths`` (the source's inputs, in order)
    line: int
    label: str
    digest: bytes
    empty_title: bool

    @classmethod
    def of(cls, checked: Checked, input_ids: dict[str, int]) -> "Meta":
        return cls(checked.split, input_ids[checked.source], checked.line, checked.label, checked.digest,
                   checked.empty_title)

    def key(self, paths: Sequence[str]) -> str:
        return record_key(paths[self.input_id], self.line)

    def reject(self, reason: str, paths: Sequence[str]) -> Reject:
        return Reject(paths[self.input_id], self.line, reason, split=self.split)


class MetaCoder(beam.coders.Coder):
    """A Meta as the tuple of its fields (Beam would pickle a named tuple: its class
    name in every record)."""

    _fields = beam.coders.FastPrimitivesCoder()

    def encode(self, value: Meta) -> bytes:
        return self._fields.encode(tuple(value))

    def decode(self, encoded: bytes) -> Meta:
        return Meta(*self._fields.decode(encoded))

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self):
        return Meta


beam.coders.registry.register_coder(Meta, MetaCoder)


class RecordSource(Protocol):
    """What the ingest graph reads (picklable: it travels to the Beam workers)."""

    def inputs(self) -> list[tuple[str, str]]:
        """(split, path) of every input file."""

    def chunks(self, split_and_path: tuple[str, str]) -> Iterator[tuple]:
        """The pieces of one input that workers read in parallel (a file, a byte range)."""

    def read(self, chunk: tuple) -> Iterator[Record]:
        """The records of one piece, streamed: neither pass holds the records of the data set."""

    def check(self, record: Record) -> Checked | Reject:
        ...

    def encode(self, record: Record) -> bytes:
        """The record as a serialized tf.Example of models/features.py (pass 2)."""


@dataclasses.dataclass(frozen=True)
class HoldOut:
    """Which splits are carved per class from the training records, and how."""

    # (split, per_class, max_fraction, seed), in the order they are carved.
    carved: tuple[tuple[str, int, float, int], ...]

    @classmethod
    def for_inputs(cls, options: DataConfig, given_splits: Sequence[str]) -> "HoldOut":
        carved = []
        if "eval" not in given_splits:
            carved.append(("eval", options.eval_per_class, options.eval_max_fraction, options.seed))
        if "validation" not in given_splits:
            carved.append(("validation", options.validation_per_class, options.validation_max_fraction,
                           options.seed + 1))
        return cls(tuple(carved))


def _checked(record: Record, source: RecordSource, input_ids: dict[str, int]):
    result = source.check(record)
    if isinstance(result, Reject):
        beam.metrics.Metrics.counter(_METRICS_NAMESPACE, "rejected").inc()
        yield beam.pvalue.TaggedOutput("rejects", dataclasses.replace(result, split=record.split))
    else:
        yield Meta.of(result, input_ids)


def _first_of_each_image(digest_and_items, paths: Sequence[str]):
    _, items = digest_and_items
    items = sorted(items, key=lambda c: (_INPUT_ORDER[c.split], paths[c.input_id], c.line))
    first = items[0]
    yield first
    for duplicate in items[1:]:
        yield beam.pvalue.TaggedOutput(
            "rejects", duplicate.reject(f"exact duplicate of the image at {paths[first.input_id]}:{first.line}",
                                        paths))


def _place_class(label_and_items, hold_out: HoldOut, paths: Sequence[str]):
    """Every record of one class -> (record, split), or a reject for an unknown label."""
    label, items = label_and_items
    items = list(items)
    remaining = [c for c in items if c.split == "train"]
    for c in items:
        if c.split == "train":
            continue
        if remaining:
            yield c, c.split
        else:
            yield beam.pvalue.TaggedOutput(
                "rejects", c.reject(f"unknown label '{label}': no training image has it", paths))
    for split, per_class, max_fraction, seed in hold_out.carved:
        chosen = split_by_class([label] * len(remaining), [c.digest.hex() for c in remaining], per_class, max_fraction,
                                seed)
        for c, is_chosen in zip(remaining, chosen):
            if is_chosen:
                yield c, split
        remaining = [c for c, is_chosen in zip(remaining, chosen) if not is_chosen]
    for c in remaining:
        yield c, "train"


def _routed(record: Record, source: RecordSource, exceptions: dict[str, str]):
    """Pass 2: (split, serialized example) of a record pass 1 kept."""
    if isinstance(record.payload, Reject):
        return
    split = exceptions.get(record.key, record.split)
    if not split:  # rejected in pass 1
        return
    try:
        example = source.encode(record)
    except (OSError, ValueError) as e:  # changed or removed since pass 1
        beam.metrics.Metrics.counter(_METRICS_NAMESPACE, "changed_between_passes").inc()
        logging.warning("ingest: %s:%s could not be read again (%s); left out", record.source, record.line, e)
        return
    yield split, example


def _read_records(p, label: str, source: RecordSource, inputs: list[tuple[str, str]]):
    # Only the pieces are shuffled (to spread them over the workers), never the records.
    return (
        p
        | f"{label}Inputs" >> beam.Create(inputs)
        | f"{label}Pieces" >> beam.FlatMap(source.chunks)
        | f"{label}Spread" >> beam.Reshuffle()
        | f"{label}Read" >> beam.FlatMap(source.read)
    )


class ReportTally(beam.CombineFn):
    """The report's numbers in one combine over the placed records and the rejects
    (one grouping of the graph instead of one per number): (rejects as dicts, records
    per (split, label), records with an empty title). Each input is a Reject, or
    (split, label, empty_title) of a placed record. Every record read ends up placed
    or rejected, so the rows read are the sum of the two."""

    def create_accumulator(self):
        return [], Counter(), 0

    def add_input(self, tally, item):
        rejects, split_class, empty_titles = tally
        if isinstance(item, Reject):
            rejects.append(item.to_dict())
            return tally
        split, label, empty_title = item
        split_class[(split, label)] += 1
        return rejects, split_class, empty_titles + int(empty_title)

    def merge_accumulators(self, tallies):
        rejects, split_class, empty_titles = [], Counter(), 0
        for more_rejects, more_split_class, more_empty in tallies:
            rejects.extend(more_rejects)
            split_class.update(more_split_class)
            empty_titles += more_empty
        return rejects, split_class, empty_titles

    def extract_output(self, tally):
        return tally


def _write_report(tally, path: str, summary: dict[str, Any]) -> str:
    rejects, split_class_counts, empty_titles = tally
    rejects = sorted(rejects, key=lambda r: (_INPUT_ORDER.get(r.get("split") or "train", 0), r["source"], r["line"]))
    per_class: dict[str, dict[str, int]] = {}
    split_counts: Counter = Counter()
    for (split, label), n in sorted(split_class_counts.items()):
        per_class.setdefault(label, dict.fromkeys(SPLITS, 0))[split] = n
        split_counts[split] += n
    train_classes = [label for label, c in per_class.items() if c["train"]]
    counts = {
        "rows": sum(split_counts.values()) + len(rejects),
        "accepted": sum(split_counts.values()),
        "rejected": len(rejects),
        **{split: split_counts.get(split, 0) for split in SPLITS},
        "classes": len(train_classes),
        "validation_classes": sum(1 for c in per_class.values() if c["validation"]),
        "eval_classes": sum(1 for c in per_class.values() if c["eval"]),
        "empty_titles": empty_titles,
    }
    report = {
        **summary,
        "counts": counts,
        "rejected_by_split": {split: sum(1 for r in rejects if (r.get("split") or "train") == split)
                              for split in SPLITS},
        "rejects": rejects,
        "reject_reasons": dict(Counter(r["reason"].split(" (")[0].split(" at ")[0] for r in rejects)),
        "class_counts": dict(sorted(per_class.items(), key=lambda kv: (-kv[1]["train"], kv[0]))),
    }
    write_report(path, report)
    return path


def build_ingest(p: beam.Pipeline, source: RecordSource, hold_out: HoldOut, examples_dir: str, report_path: str,
                 summary: dict[str, Any] | None = None) -> None:
    """Adds the two passes and the report to pipeline p (see the module docstring)."""
    inputs = source.inputs()
    paths = tuple(path for _, path in inputs)
    input_ids = {path: i for i, path in enumerate(paths)}
    # Pass 1: check, de-duplicate, place.
    checked = (
        _read_records(p, "Check", source, inputs)
        | "Check" >> beam.FlatMap(_checked, source, input_ids).with_outputs("rejects", main="valid")
    )
    deduplicated = (
        checked.valid
        | "ByImage" >> beam.Map(lambda c: (c.digest, c)).with_output_types(beam.typehints.Tuple[bytes, Meta])
        | "GroupByImage" >> beam.GroupByKey()
        | "FirstOfEachImage" >> beam.FlatMap(_first_of_each_image, paths).with_outputs("rejects", main="kept")
    )
    placed = (
        deduplicated.kept
        | "ByClass" >> beam.Map(lambda c: (c.label, c)).with_output_types(beam.typehints.Tuple[str, Meta])
        | "GroupByClass" >> beam.GroupByKey()
        | "PlacePerClass" >> beam.FlatMap(_place_class, hold_out, paths).with_outputs("rejects", main="placed")
    )
    rejects = (checked.rejects, deduplicated.rejects, placed.rejects) | "AllRejects" >> beam.Flatten()
    moved = placed.placed | "HeldOut" >> beam.Filter(lambda cs: cs[0].split != cs[1]) | "HeldOutKeys" >> beam.Map(
        lambda cs: (cs[0].key(paths), cs[1]))
    dropped = rejects | "RejectedKeys" >> beam.Map(lambda r: (record_key(r.source, r.line), ""))
    exceptions = (moved, dropped) | "Exceptions" >> beam.Flatten()

    # Pass 2: read again, encode, write each split.
    routed = _read_records(p, "Write", source, inputs) | "Encode" >> beam.FlatMap(
        _routed, source, beam.pvalue.AsDict(exceptions))
    _ = routed | "Write" >> WriteSplitsToStoredGzipTFRecord(examples_dir, SPLITS, EXAMPLES_FILE_PREFIX)

    # The report: one combine over every placed record and every reject.
    placed_keys = placed.placed | "PlacedSplitClass" >> beam.Map(lambda cs: (cs[1], cs[0].label, cs[0].empty_title))
    _ = (
        (placed_keys, rejects)
        | "ReportInputs" >> beam.Flatten()
        | "Tally" >> beam.CombineGlobally(ReportTally())
        | "WriteReport" >> beam.Map(_write_report, report_path, summary or {})
    )


def check_report(report: dict[str, Any], options: DataConfig, report_path: str, inputs: dict[str, str]) -> None:
    """Raises IngestError when the run must fail: no valid training record, a held-out
    input that shares no label with training, or more rejects than
    ``data.max_reject_ratio`` allows. ``inputs``: split -> the setting that names its
    input and the input, e.g. ``"data.manifest data/train.jsonl"`` (for messages)."""
    counts = report["counts"]
    rejected, total = counts["rejected"], counts["rows"]
    if not counts["train"]:
        raise IngestError(f"no valid training rows in {inputs.get('train')} ({rejected} rejected); see {report_path}")
    for split in ("eval", "validation"):
        unknown = sum(1 for r in report["rejects"] if r.get("split") == split and r["reason"].startswith("unknown label"))
        if split in inputs and not counts[split] and unknown:
            setting = inputs[split].split(" ")[0]
            raise IngestError(
                f"{inputs[split]} shares no label with {inputs['train']}: "
                f"is it the {split} split of another data set? Set {setting} to this data's own, or to null "
                "for a per-class hold-out of the training data"
            )
    if total and rejected / total > options.max_reject_ratio:
        raise IngestError(
            f"{rejected} of {total} rows rejected ({rejected / total:.1%}), over "
            f"data.max_reject_ratio={options.max_reject_ratio}; see {report_path}"
        )


def run_ingest(make_pipeline, source: RecordSource, options: DataConfig, examples_dir: str, report_path: str,
               inputs: dict[str, str]) -> dict[str, Any]:
    """Runs the graph (make_pipeline(): a beam.Pipeline on the runner of the caller's
    choice), then check_report; returns the report."""
    summary = {"inputs": inputs, "options": dataclasses.asdict(options)}
    started = time.time()
    with make_pipeline() as p:
        build_ingest(p, source, HoldOut.for_inputs(options, list(inputs)), examples_dir, report_path, summary)
    report = read_report(report_path)
    report["seconds"] = round(time.time() - started, 2)
    report["splits"] = split_files(examples_dir)
    write_report(report_path, report)
    check_report(report, options, report_path, inputs)
    return report


def write_report(path: str, report: dict[str, Any]) -> None:
    """The ingest report, in the Examples artifact: through tf.io.gfile (as Beam writes
    the TFRecords beside it), since that is a bucket's folder on a cloud pipeline root."""
    import tensorflow as tf

    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(report, indent=2, ensure_ascii=False))


def read_report(path: str) -> dict[str, Any]:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "r") as f:
        return json.loads(f.read())


def split_files(examples_dir: str) -> dict[str, list[str]]:
    import tensorflow as tf

    return {split: sorted(tf.io.gfile.glob(os.path.join(examples_dir, f"Split-{split}", "*.gz"))) for split in SPLITS}
