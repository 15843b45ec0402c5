"""ExampleScreen's executor over an imported Examples artifact (what ImportExampleGen
writes): screened examples under our names, the skips in its report."""

import json

import tensorflow as tf
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils, channel_utils, standard_artifacts

from components.example_screen import ExampleScreen, Executor
from components.manifest_example_gen import IngestReport, data_options_json
from sicot.config import DataConfig, ExamplesConfig
from tests.tiny_catalogue import COLOURS, png_bytes


def _example(**values) -> bytes:
    feature = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() if isinstance(v, str) else v]))
               for k, v in values.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_imported_examples_are_screened_and_the_missing_splits_carved(tmp_path):
    imported = standard_artifacts.Examples()
    imported.uri = str(tmp_path / "imported")
    imported.split_names = artifact_utils.encode_split_names(["train"])
    (tmp_path / "imported" / "Split-train").mkdir(parents=True)
    records = [_example(jpeg=png_bytes(COLOURS["red"], noise=i + 1), cls="red") for i in range(10)]
    records.insert(4, _example(jpeg=b"GIF89a-not-really", cls="red"))
    with tf.io.TFRecordWriter(str(tmp_path / "imported" / "Split-train" / "data_tfrecord-00000-of-00001.gz"),
                              "GZIP") as writer:
        for r in records:
            writer.write(r)
    options = DataConfig(examples=ExamplesConfig(train="/shop/*.gz", image_feature="jpeg", label_feature="cls"),
                         eval_per_class=2, max_reject_ratio=0.2)
    examples, report = standard_artifacts.Examples(), IngestReport()
    examples.uri, report.uri = str(tmp_path / "examples"), str(tmp_path / "report")
    Executor(BaseBeamExecutor.Context(beam_pipeline_args=["--direct_running_mode=in_memory"],
                                      tmp_dir=str(tmp_path / "tmp"))).Do(
        {"imported_examples": [imported]}, {"examples": [examples], "ingest_report": [report]},
        {"data_options": data_options_json(options)})
    doc = json.loads((tmp_path / "report" / "ingest_report.json").read_text())
    assert doc["inputs"] == {"train": "data.examples.train /shop/*.gz"}
    ((reject),) = doc["rejects"]
    assert reject["line"] == 4 and reject["split"] == "train" and reject["image"] == "data_tfrecord-00000-of-00001.gz:4"
    assert reject["reason"] == "not an image (unknown format)"
    assert doc["counts"]["eval"] == 2 and doc["counts"]["train"] + doc["counts"]["validation"] == 8
    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "validation", "eval"]
    assert report.get_int_custom_property("rejected") == 1


def test_the_component_reads_the_imported_channel():
    channel = channel_utils.as_channel([standard_artifacts.Examples()])
    screen = ExampleScreen(channel, DataConfig())
    assert set(screen.inputs) == {"imported_examples"}
    assert set(screen.outputs) == {"examples", "ingest_report"}
