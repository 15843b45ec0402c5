"""The single-model copy of a two-model evaluation loads in TFMA as the plugin loads it."""

import json

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from tests.tfma_metrics_protos import evaluation
from evaluation.fairness_indicators_view import _model_names, _single_model_copy, tensorboard_command


def _two_model_evaluation(path):
    path.mkdir()
    with tf.io.TFRecordWriter(str(path / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in evaluation(candidate=0.30, lower=0.26, baseline=0.25):
            writer.write(proto.SerializeToString())
    config = {
        "evalConfig": {
            "modelSpecs": [{"name": "candidate", "labelKey": "label_id"},
                           {"name": "baseline", "labelKey": "label_id", "isBaseline": True}],
            "slicingSpecs": [{}, {"featureKeys": ["label_group"]}],
            "metricsSpecs": [{"metrics": [{"className": "ExampleCount"}], "modelNames": ["candidate"]}],
        },
        "version": tfma.version.VERSION,
        "dataLocation": "<user provided PCollection>",
        "fileFormat": "<unknown>",
        "modelLocations": {"candidate": "/models/c", "baseline": "/models/b"},
    }
    (path / "eval_config.json").write_text(json.dumps(config))
    return str(path)


def test_a_two_model_evaluation_loses_slices_without_a_model_name(tmp_path):
    # What the plugin does (tfma.load_eval_result without model_name) drops slices ...
    source = _two_model_evaluation(tmp_path / "evaluation")
    assert _model_names(source) == ["candidate", "baseline"]
    loaded = {tfma.slicer.slicer_lib.stringify_slice_key(k) for k, m in tfma.load_eval_result(source).slicing_metrics}
    assert "Overall" not in loaded


def test_the_copy_holds_the_candidates_metrics_only(tmp_path):
    # ... and works on the copy, with the candidate's values and intervals.
    copy = _single_model_copy(_two_model_evaluation(tmp_path / "evaluation"), tmp_path / "copy", "candidate")
    assert _model_names(copy) == [""]
    result = tfma.load_eval_result(copy)
    by_slice = {tfma.slicer.slicer_lib.stringify_slice_key(k): m for k, m in result.slicing_metrics}
    tail = by_slice["label_group:tail"][""][""]["top1_accuracy"]
    assert tail["boundedValue"]["value"] == pytest.approx(0.30)
    assert tail["boundedValue"]["lowerBound"] == pytest.approx(0.26)
    assert by_slice["Overall"][""][""]["top1_accuracy"]["boundedValue"]["value"] == pytest.approx(0.9)
    config = json.loads((tmp_path / "copy" / "eval_config.json").read_text())
    assert config["modelLocations"] == {"": "/models/c"}


def test_tensorboard_runs_with_the_multiplexer_the_plugin_needs(tmp_path):
    command = tensorboard_command(tmp_path, "127.0.0.1", 7000)
    assert command[1:3] == ["-m", "tensorboard.main"]
    assert "--load_fast=false" in command
    assert command[command.index("--logdir") + 1] == str(tmp_path)
