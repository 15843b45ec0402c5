"""The user's TFRecords through the ingest graph: their feature names become ours, each
kind of bad example is skipped and named (split, file, index, example id), the rest
goes through; the reject ratio fails the step on one side and not on the other."""

import json

import apache_beam as beam
import pytest
import tensorflow as tf

from components.ingest_pipeline import IngestError, read_report, run_ingest
from components.tfrecord_source import TFRecordSource
from models import features
from sicot.config import DataConfig, ExamplesConfig
from tests.tiny_catalogue import COLOURS, png_bytes

NAMES = ExamplesConfig(image_feature="img", title_feature="name", label_feature="category", sku_feature="item",
                       tags_feature="keywords", example_id_feature="uid")


def _example(**values) -> bytes:
    feature = {}
    for name, value in values.items():
        value = value if isinstance(value, list) else [value]
        feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[v.encode() if isinstance(v, str) else v for v in value]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write(path, records, gzip=True):
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for record in records:
            writer.write(record)
    return str(path)


def good(i, label="red"):
    return _example(img=png_bytes(COLOURS[label], noise=i + 1), name=f"{label} shirt {i}", category=label,
                    item=f"p{i}", keywords=["a", "b"], uid=f"u{label}{i}")


BAD = {
    "truncated": _example(img=png_bytes((1, 2, 3), size=(64, 64), noise=60)[:-40], name="cut", category="red",
                          uid="u-truncated"),
    "empty_image": _example(img=b"", name="nothing", category="red", uid="u-empty"),
    "no_label": _example(img=png_bytes((9, 9, 9)), name="no label", uid="u-nolabel"),
    "blank_label": _example(img=png_bytes((8, 8, 8)), name="blank", category="  ", uid="u-blank"),
    "latin1_title": _example(img=png_bytes((7, 7, 7)), name=b"caf\xe9", category="red", uid="u-latin1"),
    "not_an_example": b"\x00\x01 not a protocol buffer \xff",
}


def _ingest(tmp_path, files, ratio=0.5, **kw):
    options = DataConfig(max_reject_ratio=ratio, eval_per_class=2, validation_per_class=1, **kw)
    source = TFRecordSource(tuple(files), NAMES)
    inputs = {split: f"data.examples.{split} x" for split in sorted({s for s, _ in files})}
    report_path = str(tmp_path / "report" / "ingest_report.json")
    report = run_ingest(lambda: beam.Pipeline(argv=["--direct_running_mode=in_memory"]), source, options,
                        str(tmp_path / "examples"), report_path, inputs)
    return report


def _read(tmp_path, split):
    files = sorted(str(p) for p in (tmp_path / "examples" / f"Split-{split}").glob("*.gz"))
    spec = {name: tf.io.VarLenFeature(tf.string) for name in features.RAW_FEATURES}
    return [tf.io.parse_single_example(r, spec)
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def test_each_bad_example_is_skipped_and_named_and_the_good_ones_are_renamed(tmp_path):
    records = []
    for i in range(12):
        records.append(good(i, "red" if i % 2 else "green"))
        if i < len(BAD):
            records.append(list(BAD.values())[i])
    train = _write(tmp_path / "train.tfrecord.gz", records)
    report = _ingest(tmp_path, [("train", train)], validation_max_fraction=0.25)
    rejects = {r["line"]: (r["reason"], r["image"], r["split"], r["source"]) for r in report["rejects"]}
    assert set(rejects) == {1, 3, 5, 7, 9, 11}  # the index of each injected record in the file
    assert rejects[1][0].startswith("image cannot be decoded") and rejects[1][1] == "u-truncated"
    assert rejects[3][0] == "no image (feature 'img' missing or empty)" and rejects[3][1] == "u-empty"
    assert rejects[5][0] == "missing label (feature 'category')" and rejects[5][1] == "u-nolabel"
    assert rejects[7][0] == "missing label (feature 'category')"
    assert rejects[9][0] == "title is not valid UTF-8"
    assert rejects[11][0] == "not a tf.Example"
    assert {r[2] for r in rejects.values()} == {"train"} and {r[3] for r in rejects.values()} == {train}
    counts = report["counts"]
    assert counts["rows"] == 18 and counts["rejected"] == 6 and counts["accepted"] == 12
    # No eval or validation input: both carved per class from train.
    assert counts["eval"] == 4 and counts["validation"] == 2 and counts["train"] == 6
    rows = [r for split in ("train", "validation", "eval") for r in _read(tmp_path, split)]
    ids = sorted(tf.sparse.to_dense(r[features.EXAMPLE_ID]).numpy()[0].decode() for r in rows)
    assert ids == sorted(f"u{'red' if i % 2 else 'green'}{i}" for i in range(12))
    first = [r for r in rows if tf.sparse.to_dense(r[features.EXAMPLE_ID]).numpy()[0] == b"ured1"][0]
    assert tf.sparse.to_dense(first[features.LABEL]).numpy().tolist() == [b"red"]
    assert tf.sparse.to_dense(first[features.TITLE]).numpy().tolist() == [b"red shirt 1"]
    assert tf.sparse.to_dense(first[features.SKU]).numpy().tolist() == [b"p1"]
    assert tf.sparse.to_dense(first[features.TAGS]).numpy().tolist() == [b"a", b"b"]
    assert tf.io.decode_png(tf.sparse.to_dense(first[features.IMAGE])[0]).shape == (10, 12, 3)


def test_given_splits_are_kept_and_missing_optional_features_get_defaults(tmp_path):
    train = _write(tmp_path / "train.tfrecord", [good(i) for i in range(4)] + [good(i, "blue") for i in range(4, 8)],
                   gzip=False)
    bare = _example(img=png_bytes(COLOURS["blue"], noise=30), category="blue")  # no title, sku, tags or id
    test = _write(tmp_path / "test.gz", [bare, good(40), _example(img=png_bytes((5, 5, 5)), category="purple")])
    report = _ingest(tmp_path, [("train", train), ("eval", test)])
    assert report["counts"]["eval"] == 2 and report["counts"]["train"] + report["counts"]["validation"] == 8
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (2, "unknown label 'purple': no training image has it")]
    (row,) = [r for r in _read(tmp_path, "eval")
              if tf.sparse.to_dense(r[features.LABEL]).numpy()[0] == b"blue"]
    assert tf.sparse.to_dense(row[features.EXAMPLE_ID]).numpy()[0] == b"test.gz:0"  # file:index
    assert tf.sparse.to_dense(row[features.SKU]).numpy()[0] == b"blue"  # the label
    assert tf.sparse.to_dense(row[features.TITLE]).numpy()[0] == b""


def test_a_corrupt_file_loses_its_rest_not_the_run(tmp_path):
    whole = _write(tmp_path / "a.tfrecord", [good(i) for i in range(6)], gzip=False)
    data = open(whole, "rb").read()
    broken = tmp_path / "b.tfrecord"
    broken.write_bytes(data[: len(data) // 2 + 5])  # cut inside a record
    report = _ingest(tmp_path, [("train", whole), ("train", str(broken))])
    (reject,) = [r for r in report["rejects"] if r["reason"].startswith("TFRecord file corrupt")]
    assert reject["source"] == str(broken) and "(file ends inside a record" in reject["reason"]
    # b repeats a's first images: exact duplicates, rejected in favour of a's copies.
    duplicates = [r for r in report["rejects"] if r["reason"].startswith("exact duplicate")]
    assert len(duplicates) == reject["line"] == 3 and report["counts"]["accepted"] == 6


def test_a_checksum_mismatch_is_corruption(tmp_path):
    path = _write(tmp_path / "a.tfrecord", [good(0), good(1)], gzip=False)
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 0xFF  # a byte of the second record's data
    open(path, "wb").write(bytes(data))
    report = _ingest(tmp_path, [("train", path)], ratio=0.9)
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (1, "TFRecord file corrupt from this record on (record data checksum mismatch)")]


def test_the_reject_ratio_fails_the_step_only_above_it(tmp_path):
    records = [good(i) for i in range(9)] + [BAD["no_label"]]  # 1 of 10 rejected
    train = _write(tmp_path / "train.gz", records)
    assert _ingest(tmp_path / "ok", [("train", train)], ratio=0.1)["counts"]["rejected"] == 1
    with pytest.raises(IngestError, match=r"1 of 10 rows rejected \(10.0%\), over data.max_reject_ratio=0.09"):
        _ingest(tmp_path / "over", [("train", train)], ratio=0.09)
    # The report is there either way.
    assert read_report(str(tmp_path / "over" / "report" / "ingest_report.json"))["counts"]["rejected"] == 1
