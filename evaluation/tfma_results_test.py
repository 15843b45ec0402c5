"""Reading TFMA's metrics output back, on MetricsForSlice protos written by hand."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from evaluation.tfma_results import SliceMetrics, read_slice_metrics, slice_name
from tests.tfma_metrics_protos import evaluation, metrics_for_slice
from tfx_pipeline.eval_config import CLASS_HITS


def write_metrics(directory, protos) -> str:
    """The file TFMA's writer makes in an evaluation folder (metrics-*.tfrecord)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(directory / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in protos:
            writer.write(proto.SerializeToString())
    return str(directory)


@pytest.mark.parametrize("key, name", [
    ((), "overall"),
    ((("label_group", "head"),), "head"),
    ((("label_group", "tail"),), "tail"),
    ((("label_frequency_bucket", "6-20"),), "label_frequency_bucket:6-20"),
    ((("label_group", "tail"), ("label_frequency_bucket", "1-5")), "label_group:tail,label_frequency_bucket:1-5"),
])
def test_slice_names(key, name):
    assert slice_name(key) == name
    assert SliceMetrics(key, {}).name == name


def test_only_the_candidates_metrics_are_read(tmp_path):
    """A two-model evaluation: the baseline's values and the diffs are left out."""
    path = write_metrics(tmp_path / "evaluation", evaluation(candidate=0.30, lower=0.26, baseline=0.25))
    got = read_slice_metrics(path)
    assert [s.slice_key for s in got] == [(), (("label_group", "head"),), (("label_group", "tail"),)]
    assert [s.name for s in got] == ["overall", "head", "tail"]
    overall, head, tail = got
    assert overall.metrics == {"top1_accuracy": pytest.approx(0.9)}
    assert head.metrics == {"top1_accuracy": pytest.approx(0.9)}
    assert tail.metrics == {"top1_accuracy": pytest.approx(0.30)}  # not the baseline's 0.25, not the diff 0.05
    assert tail.intervals == {"top1_accuracy": (pytest.approx(0.26), pytest.approx(0.34))}
    assert overall.intervals == {"top1_accuracy": (pytest.approx(0.8), pytest.approx(1.0))}
    assert all(s.class_hits is None for s in got)


def test_a_metric_without_a_confidence_interval_has_none(tmp_path):
    path = write_metrics(tmp_path / "e", [metrics_for_slice("label_group", "tail", [("", 0.5, None, False)])])
    (tail,) = read_slice_metrics(path)
    assert tail.metrics == {"top1_accuracy": 0.5} and tail.intervals == {}


def _array(proto_value, data_type: str, shape, values):
    array = proto_value.array_value
    array.data_type = metrics_for_slice_pb2.ArrayValue.DataType.Value(data_type)
    array.shape.extend(shape)
    getattr(array, {"INT32": "int32_values", "INT64": "int64_values", "FLOAT32": "float32_values",
                    "FLOAT64": "float64_values"}[data_type]).extend(values)


@pytest.mark.parametrize("data_type", ["INT64", "INT32", "FLOAT64"])
def test_class_hits_come_back_as_a_table_of_the_written_shape(tmp_path, data_type):
    proto = metrics_for_slice(None, "", [("", 0.75, None, False)])
    kv = proto.metric_keys_and_values.add()
    kv.key.name = CLASS_HITS
    _array(kv.value, data_type, [3, 4], [0, 4, 3, 4, 1, 2, 1, 2, 2, 1, 0, 0])
    other = proto.metric_keys_and_values.add()  # an array metric of another name is not read
    other.key.name = "some_other_array"
    _array(other.value, "INT64", [1], [7])
    text = proto.metric_keys_and_values.add()  # nor a value that is not a double
    text.key.name = "a_message"
    text.value.bytes_value = b"hello"
    baseline_hits = proto.metric_keys_and_values.add()  # nor the baseline's table
    baseline_hits.key.name = CLASS_HITS
    baseline_hits.key.model_name = "baseline"
    _array(baseline_hits.value, "INT64", [1, 4], [9, 9, 9, 9])
    (overall,) = read_slice_metrics(write_metrics(tmp_path / "e", [proto]))
    assert overall.metrics == {"top1_accuracy": 0.75}
    assert overall.class_hits.shape == (3, 4)
    np.testing.assert_array_equal(overall.class_hits, [[0, 4, 3, 4], [1, 2, 1, 2], [2, 1, 0, 0]])


def test_slice_values_of_every_kind_are_text(tmp_path):
    proto = metrics_for_slice(None, "", [("", 0.1, None, False)])
    proto.slice_key.single_slice_keys.add(column="bucket", int64_value=5)
    proto.slice_key.single_slice_keys.add(column="weight", float_value=0.5)
    proto.slice_key.single_slice_keys.add(column="label_group", bytes_value="tête".encode())
    (got,) = read_slice_metrics(write_metrics(tmp_path / "e", [proto]))
    assert got.slice_key == (("bucket", "5"), ("weight", "0.5"), ("label_group", "tête"))
    assert got.name == "bucket:5,weight:0.5,label_group:tête"


def test_an_evaluation_without_metrics_reads_as_no_slices(tmp_path):
    assert read_slice_metrics(write_metrics(tmp_path / "empty", [])) == []
