"""TFMA MetricsForSlice protos as a two-model evaluation (candidate and baseline) writes
them, for tests of code that reads TFMA's output."""

from tensorflow_model_analysis.proto import metrics_for_slice_pb2


def metrics_for_slice(column, value, entries):
    """entries: (model_name, value, lower bound or None, is_diff)."""
    proto = metrics_for_slice_pb2.MetricsForSlice()
    if column:
        proto.slice_key.single_slice_keys.add(column=column, bytes_value=value.encode())
    for model, metric_value, lower, is_diff in entries:
        kv = proto.metric_keys_and_values.add()
        kv.key.name = "top1_accuracy"
        kv.key.model_name = model
        kv.key.is_diff = is_diff
        kv.value.double_value.value = metric_value
        if lower is not None:
            kv.confidence_interval.lower_bound.double_value.value = lower
            kv.confidence_interval.upper_bound.double_value.value = 2 * metric_value - lower
    return proto


def evaluation(candidate, lower, baseline, tail_column="label_group"):
    entries = [("candidate", candidate, lower, False)]
    if baseline is not None:
        entries += [("baseline", baseline, baseline - 0.05, False), ("candidate", candidate - baseline, None, True)]
    return [
        metrics_for_slice(None, "", [("candidate", 0.9, 0.8, False), ("baseline", 0.1, 0.0, False)]),
        metrics_for_slice("label_group", "head", [("candidate", 0.9, 0.85, False), ("baseline", 0.1, 0.0, False)]),
        metrics_for_slice(tail_column, "tail", entries),
    ]
