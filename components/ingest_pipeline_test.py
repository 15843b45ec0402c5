"""The ingest graph's decisions: which rows are held out (the single-process rule, for
any order of the input), which duplicate is kept, when the step fails."""

import json
import random

import apache_beam as beam
import pytest
import tensorflow as tf

from components.class_balanced_split import split_by_class
from components.ingest_pipeline import (Checked, HoldOut, IngestError, Meta, _first_of_each_image, _place_class,
                                        check_report, record_key, run_ingest)
from components.manifest_source import ManifestSource
from sicot.config import DataConfig
from tests.tiny_catalogue import write_catalogue


# The graph's input files, in order: a Meta names its file by index.
PATHS = ("train.jsonl", "validation.jsonl", "eval.jsonl")


def _checked(split, line, label, digest):
    return Meta(split, PATHS.index(f"{split}.jsonl"), line, label, digest.encode(), empty_title=False)


def _split_outputs(results):
    placed, rejects = [], []
    for r in results:
        (rejects if isinstance(r, beam.pvalue.TaggedOutput) else placed).append(r)
    return placed, [r.value for r in rejects]


def test_the_hold_out_of_a_class_is_the_single_process_rule():
    options = DataConfig(eval_per_class=3, eval_max_fraction=0.5, validation_per_class=2,
                         validation_max_fraction=0.3, seed=5)
    members = [_checked("train", i, "red", f"digest{i}") for i in range(17)]
    random.Random(0).shuffle(members)
    placed, rejects = _split_outputs(_place_class(("red", members), HoldOut.for_inputs(options, ["train"]), PATHS))
    assert not rejects
    got = {c.line: split for c, split in placed}
    ordered = sorted(members, key=lambda c: c.line)
    is_eval = split_by_class(["red"] * 17, [c.digest.hex() for c in ordered], 3, 0.5, 5)
    rest = [c for c, e in zip(ordered, is_eval) if not e]
    is_validation = split_by_class(["red"] * len(rest), [c.digest.hex() for c in rest], 2, 0.3, 6)
    expected = {c.line: "eval" for c, e in zip(ordered, is_eval) if e}
    expected.update({c.line: "validation" for c, v in zip(rest, is_validation) if v})
    assert {line: split for line, split in got.items() if split != "train"} == expected
    assert len(got) == 17 and list(got.values()).count("eval") == 3 and list(got.values()).count("validation") == 2


def test_given_splits_are_not_carved_and_unknown_labels_are_rejected():
    options = DataConfig()
    hold_out = HoldOut.for_inputs(options, ["train", "eval", "validation"])
    assert hold_out.carved == ()
    placed, rejects = _split_outputs(_place_class(("red", [_checked("train", 1, "red", "a"),
                                                           _checked("eval", 2, "red", "b")]), hold_out, PATHS))
    assert [(c.line, s) for c, s in placed] == [(2, "eval"), (1, "train")]
    placed, rejects = _split_outputs(_place_class(("grey", [_checked("validation", 3, "grey", "c")]), hold_out,
                                                  PATHS))
    assert placed == [] and [(r.source, r.line, r.reason, r.split) for r in rejects] == [
        ("validation.jsonl", 3, "unknown label 'grey': no training image has it", "validation")]
    # Only eval given: validation is still carved.
    assert [c[0] for c in HoldOut.for_inputs(options, ["train", "eval"]).carved] == ["validation"]


def test_of_one_image_the_training_copy_is_kept_then_eval_then_validation():
    items = [_checked("validation", 1, "red", "x"), _checked("eval", 9, "red", "x"), _checked("train", 40, "red", "x"),
             _checked("train", 7, "red", "x")]
    kept, rejects = _split_outputs(_first_of_each_image(("x", items), PATHS))
    assert [(c.split, c.line) for c in kept] == [("train", 7)]
    assert [r.reason for r in rejects] == ["exact duplicate of the image at train.jsonl:7"] * 3


def test_the_kept_metadata_names_its_record_by_the_same_key_as_pass_2():
    checked = Checked("eval", "eval.jsonl", 12, "red", b"\x01" * 32, False)
    meta = Meta.of(checked, {path: i for i, path in enumerate(PATHS)})
    assert (meta.input_id, meta.line, meta.digest) == (2, 12, checked.digest)
    assert meta.key(PATHS) == record_key(checked.source, checked.line) == record_key("eval.jsonl", 12)
    assert meta.reject("why", PATHS).source == "eval.jsonl"


def test_the_runner_holds_the_metadata_as_a_small_tuple_not_a_pickle():
    meta = Meta("train", 3, 123456, "sku-1234", bytes(range(32)), True)
    coder = beam.coders.registry.get_coder(beam.typehints.Tuple[bytes, Meta])  # what the groupings hold
    encoded = coder.encode((meta.digest, meta))
    assert coder.decode(encoded) == (meta.digest, meta) and type(coder.decode(encoded)[1]) is Meta
    assert len(encoded) < 110  # a pickled named tuple: about 150
    assert b"Meta" not in encoded and b"ingest_pipeline" not in encoded


def _report(**counts):
    base = {"rows": 10, "rejected": 0, "train": 8, "validation": 1, "eval": 1}
    base.update(counts)
    return {"counts": base, "rejects": []}


def test_check_report_fails_only_what_must_fail():
    options = DataConfig(max_reject_ratio=0.2)
    inputs = {"train": "data.manifest m.jsonl"}
    check_report(_report(rejected=2), options, "r.json", inputs)  # 20%: at the limit, passes
    with pytest.raises(IngestError, match=r"3 of 10 rows rejected \(30.0%\), over data.max_reject_ratio=0.2; see r.json"):
        check_report(_report(rejected=3), options, "r.json", inputs)
    with pytest.raises(IngestError, match="no valid training rows in data.manifest m.jsonl"):
        check_report(_report(train=0), options, "r.json", inputs)
    other = _report(eval=0, rejected=1)
    other["rejects"] = [{"source": "o.jsonl", "line": 1, "reason": "unknown label 'x': no ...", "split": "eval"}]
    with pytest.raises(IngestError, match="data.eval_manifest o.jsonl shares no label with data.manifest m.jsonl"):
        check_report(other, DataConfig(max_reject_ratio=0.5), "r.json", {**inputs, "eval": "data.eval_manifest o.jsonl"})


def test_the_splits_do_not_depend_on_the_order_of_the_manifest(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 15, "green": 9, "blue": 4})
    shuffled = tmp_path / "cat" / "shuffled.jsonl"
    lines = manifest.read_text().splitlines()
    random.Random(3).shuffle(lines)
    shuffled.write_text("\n".join(lines) + "\n")

    def splits(path, name):
        options = DataConfig(manifest=str(path), eval_manifest=None, validation_manifest=None, eval_per_class=3,
                             validation_per_class=2, validation_max_fraction=0.3)
        report = run_ingest(lambda: beam.Pipeline(argv=["--direct_running_mode=in_memory"]),
                            ManifestSource.of({"train": str(path)}), options, str(tmp_path / name / "examples"),
                            str(tmp_path / name / "report.json"), {"train": f"data.manifest {path}"})
        titles = {}
        for split in ("train", "validation", "eval"):
            files = [str(p) for p in (tmp_path / name / "examples" / f"Split-{split}").glob("*.gz")]
            titles[split] = sorted(tf.train.Example.FromString(r).features.feature["title"].bytes_list.value[0]
                                   for r in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
        return report["class_counts"], titles

    (counts, titles), (shuffled_counts, shuffled_titles) = splits(manifest, "a"), splits(shuffled, "b")
    assert titles == shuffled_titles and counts == shuffled_counts
    # red: 3 of 15 to eval, then min(2, floor(12 * 0.3)) = 2 to validation.
    assert counts["red"] == {"train": 10, "validation": 2, "eval": 3}
    assert json.loads((tmp_path / "a" / "report.json").read_text())["counts"]["rows"] == 28


def test_the_report_and_the_split_files_are_read_where_the_artifact_is(tmp_path):
    """The Examples artifact is a bucket's folder on a cloud pipeline root: the report
    and the list of split files go through tf.io.gfile, as Beam writes the TFRecords
    (TensorFlow's in-memory file system stands in for gs:// here)."""
    from components.ingest_pipeline import read_report, split_files, write_report

    root = f"ram://{tmp_path.name}/examples"
    write_report(f"{root}/ingest_report.json", {"counts": {"train": 2}, "note": "caf\u00e9"})
    assert read_report(f"{root}/ingest_report.json") == {"counts": {"train": 2}, "note": "caf\u00e9"}
    for name in ("Split-train/data-00000-of-00002.gz", "Split-train/data-00001-of-00002.gz",
                 "Split-eval/data-00000-of-00001.gz"):
        with tf.io.gfile.GFile(f"{root}/{name}", "wb") as f:
            f.write(b"")
    files = split_files(root)
    assert files["train"] == [f"{root}/Split-train/data-0000{i}-of-00002.gz" for i in (0, 1)]
    assert files["eval"] == [f"{root}/Split-eval/data-00000-of-00001.gz"]
