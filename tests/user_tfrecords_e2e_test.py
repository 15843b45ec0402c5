"""`sicot run` on the user's own TFRecords (data.examples) with bad examples injected.

The tiny catalogue is written as a TFRecord file under other feature names, with a
truncated PNG, an empty image and an example without a label between the good ones.
The run must complete, push a model, and report exactly those three as skipped (by
split, file, record index and example id) in the run summary; no later component may
see them.
"""

import json
from pathlib import Path

import pytest
import tensorflow as tf

from conftest import TINY_RUN_SETTINGS
from tests.tiny_catalogue import COLOURS, COUNTS, png_bytes, split_records

pytestmark = pytest.mark.slow


def _example(**values) -> bytes:
    feature = {name: tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[v.encode() if isinstance(v, str) else v for v in (value if isinstance(value, list) else [value])]))
        for name, value in values.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


INJECTED = {
    "bad-truncated": _example(picture=png_bytes((1, 2, 3), size=(64, 64), noise=60)[:-40], caption="cut",
                              klass="red", uid="bad-truncated"),
    "bad-empty": _example(picture=b"", caption="empty", klass="green", uid="bad-empty"),
    "bad-nolabel": _example(picture=png_bytes((9, 9, 9)), caption="who am i", uid="bad-nolabel"),
}


def test_bad_examples_are_skipped_and_named_and_the_run_pushes(tmp_path):
    from cli.main import main

    records, injected_at = [], {}
    for label, n in COUNTS.items():
        for i in range(n):
            records.append(_example(picture=png_bytes(COLOURS[label], noise=i + 1), caption=f"{label} thing {i}",
                                    klass=label, uid=f"{label}-{i}"))
            if i == 1:
                uid, record = INJECTED.popitem() if INJECTED else (None, None)
                if record:
                    injected_at[uid] = len(records)
                    records.append(record)
    shop = tmp_path / "shop"
    shop.mkdir()
    with tf.io.TFRecordWriter(str(shop / "all-00000.tfrecord.gz"), tf.io.TFRecordOptions(compression_type="GZIP")) as w:
        for record in records:
            w.write(record)
    settings = [s for s in TINY_RUN_SETTINGS if not s.startswith(("data.eval_manifest", "data.validation_manifest"))]
    settings += [f"data.examples.train={shop}/all-*.tfrecord.gz", "data.examples.image_feature=picture",
                 "data.examples.title_feature=caption", "data.examples.label_feature=klass",
                 "data.examples.example_id_feature=uid", f"pipeline.output_dir={tmp_path / 'run'}"]
    assert main(["run", *[a for s in settings for a in ("--set", s)]]) == 0

    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["blessed"] is True and summary["pushed_dir"]
    assert summary["ingest_counts"]["rejected"] == 3
    assert summary["ingest_counts"]["rows"] == sum(COUNTS.values()) + 3
    # Only train given: eval and validation carved per class (data.eval_per_class 2, ...),
    # not ImportExampleGen's default 2:1 hash split.
    assert {s: summary["ingest_counts"][s] for s in ("train", "validation", "eval")} == {
        "train": 37, "validation": 2, "eval": 7}
    report = json.loads(Path(summary["ingest_report"]).read_text())
    skipped = {r["image"]: (r["split"], r["source"], r["line"], r["reason"])
               for r in report["rejects"]}
    assert set(skipped) == {"bad-truncated", "bad-empty", "bad-nolabel"}
    assert {v[0] for v in skipped.values()} == {"train"}
    assert skipped["bad-empty"][3] == "no image (feature 'picture' missing or empty)"
    assert skipped["bad-nolabel"][3] == "missing label (feature 'klass')"
    assert skipped["bad-truncated"][3].startswith("image cannot be decoded")
    # The console summary names them: split, file:index, reason, example id.
    assert sorted(line.rsplit(" (", 1)[-1].rstrip(")") for line in summary["ingest_rejects"]) == sorted(skipped)
    assert all(line.startswith("train ") and ".gz:" in line for line in summary["ingest_rejects"])
    # What the later components read: the screened examples, none of the injected ones.
    ids = set()
    for split in ("train", "validation", "eval"):
        for record in split_records(tmp_path / "run", split):
            ids.add(tf.train.Example.FromString(record).features.feature["example_id"].bytes_list.value[0].decode())
    assert len(ids) == sum(COUNTS.values()) and not ids & set(skipped)
