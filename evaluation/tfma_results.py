"""Reads a TFMA evaluation back: metrics per slice, for the candidate model.

``read_slice_metrics(path)`` turns TFMA's metrics output (the Evaluator's
``evaluation`` artifact, or ``tfma.analyze_raw_data``'s output path) into
``SliceMetrics``: the slice key as ``((column, value), ...)`` (``()`` is the overall
slice), the scalar metrics by name, their 95% intervals when TFMA computed confidence
intervals (``eval.confidence_intervals``), and the per-class hit table of
``ClassTopKHits`` when present. With a baseline model in the evaluation, only the
candidate's metrics are read (not the baseline's, not the diffs).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from components.tfma_slice_keys import slice_key_items
from sicot.head_tail import LABEL_GROUP
from tfx_pipeline.eval_config import BASELINE_MODEL, CLASS_HITS

_ARRAY_FIELDS = {
    "INT32": "int32_values",
    "INT64": "int64_values",
    "FLOAT32": "float32_values",
    "FLOAT64": "float64_values",
}


@dataclasses.dataclass
class SliceMetrics:
    slice_key: tuple[tuple[str, str], ...]
    metrics: dict[str, float]
    class_hits: np.ndarray | None = None
    intervals: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return slice_name(self.slice_key)


def slice_name(slice_key: tuple[tuple[str, str], ...]) -> str:
    """``overall``, ``head``, ``tail``, or ``<column>:<value>`` for other slices."""
    if not slice_key:
        return "overall"
    if len(slice_key) == 1 and slice_key[0][0] == LABEL_GROUP:
        return slice_key[0][1]
    return ",".join(f"{column}:{value}" for column, value in slice_key)


def _array(value) -> np.ndarray:
    array = value.array_value
    data_type = type(array).DataType.Name(array.data_type)
    values = getattr(array, _ARRAY_FIELDS[data_type])
    return np.asarray(values).reshape(tuple(array.shape))


def read_slice_metrics(path: str) -> list[SliceMetrics]:
    import tensorflow_model_analysis as tfma

    out = []
    for proto in tfma.load_metrics(path):
        key = slice_key_items(proto.slice_key)
        metrics, hits, intervals = {}, None, {}
        for kv in proto.metric_keys_and_values:
            if kv.key.model_name == BASELINE_MODEL or kv.key.is_diff:
                continue
            if kv.key.name == CLASS_HITS and kv.value.HasField("array_value"):
                hits = _array(kv.value)
            elif kv.value.HasField("double_value"):
                metrics[kv.key.name] = kv.value.double_value.value
                if kv.HasField("confidence_interval"):  # TFMA's 95% interval (jackknife or bootstrap)
                    ci = kv.confidence_interval
                    intervals[kv.key.name] = (ci.lower_bound.double_value.value, ci.upper_bound.double_value.value)
        out.append(SliceMetrics(key, metrics, hits, intervals))
    return out
