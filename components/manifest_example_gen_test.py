"""ManifestExampleGen's executor on real artifacts: the Examples artifact downstream
components read (split names, payload format, GZIP TFRecords per split), the report
artifact with its counts in ML Metadata, and a failure that keeps the report."""

import json

import pytest
import tensorflow as tf
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils, standard_artifacts
from tfx.components.util import examples_utils

from components.ingest_pipeline import IngestError
from components.manifest_example_gen import (Executor, IngestReport, ManifestExampleGen, data_options,
                                             data_options_json)
from sicot.config import DataConfig
from tests.tiny_catalogue import COUNTS, write_catalogue


def _run(tmp_path, manifest, **options):
    examples, report = standard_artifacts.Examples(), IngestReport()
    examples.uri, report.uri = str(tmp_path / "examples"), str(tmp_path / "report")
    config = DataConfig(manifest=str(manifest), eval_manifest=None, validation_manifest=None, **options)
    executor = Executor(BaseBeamExecutor.Context(beam_pipeline_args=["--direct_running_mode=in_memory"],
                                                 tmp_dir=str(tmp_path / "tmp")))
    executor.Do({}, {"examples": [examples], "ingest_report": [report]},
                {"manifest": str(manifest), "eval_manifest": "", "validation_manifest": "",
                 "data_options": data_options_json(config)})
    return examples, report


def test_the_examples_artifact_is_what_tfx_components_read(tmp_path):
    manifest = write_catalogue(tmp_path / "cat")
    examples, report = _run(tmp_path, manifest, eval_per_class=2)
    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "validation", "eval"]
    assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
    total = 0
    for split in ("train", "validation", "eval"):
        files = [str(p) for p in (tmp_path / "examples" / f"Split-{split}").glob("data_tfrecord-*.gz")]
        assert files, split
        total += sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    assert total == sum(COUNTS.values())
    doc = json.loads((tmp_path / "report" / "ingest_report.json").read_text())
    assert doc["counts"]["rows"] == total and doc["counts"]["rejected"] == 0
    assert doc["inputs"] == {"train": f"data.manifest {manifest}"}
    assert report.get_int_custom_property("rows") == total and report.get_int_custom_property("eval") == 7


def test_too_many_rejects_fail_the_step_with_the_report_written(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 4, "green": 4})
    with manifest.open("a") as f:
        f.write('{"image": "images/none.png", "label": "red"}\n{"image": "images/nada.png", "label": "red"}\n')
    with pytest.raises(IngestError, match=r"2 of 10 rows rejected \(20.0%\), over data.max_reject_ratio=0.1"):
        _run(tmp_path, manifest)
    doc = json.loads((tmp_path / "report" / "ingest_report.json").read_text())
    assert [(r["line"], r["reason"]) for r in doc["rejects"]] == [(9, "image file not found"),
                                                                (10, "image file not found")]


def test_the_component_carries_the_data_settings_and_any_manifest(tmp_path):
    options = DataConfig(manifest="/d/train.jsonl", eval_manifest="/d/test.jsonl", validation_manifest=None,
                         eval_per_class=4)
    gen = ManifestExampleGen("/d/today.jsonl", options, input_fingerprint="abc")
    props = gen.exec_properties
    assert props["manifest"] == "/d/today.jsonl" and props["eval_manifest"] == "/d/test.jsonl"
    assert props["validation_manifest"] == "" and props["input_fingerprint"] == "abc"
    assert data_options(props["data_options"]) == options
    assert {k: c.type_name for k, c in gen.outputs.items()} == {"examples": "Examples",
                                                                "ingest_report": "sicot.IngestReport"}
