"""TFMA metrics for long-tailed classification: top-k accuracy per example and per class.

Two TFMA metrics (``tfma.MetricConfig(class_name=..., module=__name__)``), each one
Beam combiner over the slice's examples, for a model whose prediction is a score per
class and whose label is the class index:

- ``TopKAccuracy(k, averaging)``: ``averaging="example"`` is the share of examples
  whose label is among the k highest scores (TFMA's SparseTopKCategoricalAccuracy);
  ``averaging="class"`` first takes that share within each class present in the
  slice, then the mean over those classes. The paper's test sets hold about the same
  number of images per class, so the per-class mean is the faithful number on an
  unbalanced eval split.
- ``ClassTopKHits(ks)``: per class present in the slice, the example count and the
  top-k hits, as an int64 array of rows ``[class_id, examples, hits@k1, hits@k2, ...]``
  (sorted by class id). The report's per-class plots read it back; its size grows with
  the number of classes in the slice, not with the number of classes of the model.

Examples whose label is negative (a class the model does not know) are not counted.
Example weights are not used: every image counts once.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

AVERAGING = ("example", "class")


def topk_hits(scores: np.ndarray, label: int, ks: tuple[int, ...]) -> np.ndarray:
    """[len(ks)] 0/1: is ``label`` among the k highest of ``scores``, for each k.

    Ties are broken against the label (a label tied with the k-th score counts only if
    fewer than k scores are strictly higher), the same rule for every k.
    """
    higher = int(np.count_nonzero(scores > scores[label]))
    return np.array([higher < k for k in ks], dtype=np.int64)


class _ClassHitsAccumulator:
    """class id -> [examples, hits@k for each k]."""

    __slots__ = ["rows"]

    def __init__(self):
        self.rows: dict[int, np.ndarray] = {}


class _ClassHitsCombiner(beam.CombineFn):
    """Counts examples and top-k hits per class; ``finish`` turns them into metrics."""

    def __init__(self, keys, model_name, output_name, eval_config, ks, finish):
        self._keys = keys
        self._model_name = model_name
        self._output_name = output_name
        self._eval_config = eval_config
        self._ks = tuple(ks)
        self._finish = finish

    def create_accumulator(self):
        return _ClassHitsAccumulator()

    def add_input(self, accumulator, element: metric_types.StandardMetricInputs):
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            model_name=self._model_name,
            output_name=self._output_name,
            flatten=False,
            example_weighted=False,
        ):
            label = int(np.asarray(label).reshape(-1)[0])
            scores = np.asarray(prediction, dtype=np.float64).reshape(-1)
            if label < 0 or label >= scores.size:
                continue
            row = accumulator.rows.get(label)
            if row is None:
                row = accumulator.rows[label] = np.zeros(1 + len(self._ks), dtype=np.int64)
            row[0] += 1
            row[1:] += topk_hits(scores, label, self._ks)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[_ClassHitsAccumulator]):
        accumulators = iter(accumulators)
        result = next(accumulators)
        for other in accumulators:
            for label, row in other.rows.items():
                if label in result.rows:
                    result.rows[label] = result.rows[label] + row
                else:
                    result.rows[label] = row.copy()
        return result

    def extract_output(self, accumulator):
        labels = sorted(accumulator.rows)
        table = np.zeros((len(labels), 2 + len(self._ks)), dtype=np.int64)
        for i, label in enumerate(labels):
            table[i, 0] = label
            table[i, 1:] = accumulator.rows[label]
        return {key: value for key, value in zip(self._keys, self._finish(table))}


def accuracy_from_class_hits(table: np.ndarray, column: int, averaging: str) -> float:
    """Top-k accuracy from a ``ClassTopKHits`` table (column 2 + i holds hits@ks[i])."""
    if table.size == 0:
        return float("nan")
    examples, hits = table[:, 1].astype(np.float64), table[:, column].astype(np.float64)
    if averaging == "example":
        return float(hits.sum() / examples.sum())
    if averaging == "class":
        return float(np.mean(hits / examples))
    raise ValueError(f"averaging must be one of {AVERAGING}, got {averaging!r}")


def _computations(name, finish, ks, model_names=None, output_names=None, eval_config=None):
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name)
            computations.append(
                metric_types.MetricComputation(
                    keys=[key],
                    preprocessors=None,
                    combiner=_ClassHitsCombiner([key], model_name, output_name, eval_config, ks, finish),
                )
            )
    return computations


def _topk_accuracy(
    name: str = "top1_accuracy",
    k: int = 1,
    averaging: str = "example",
    model_names=None,
    output_names=None,
    eval_config=None,
):
    if averaging not in AVERAGING:
        raise ValueError(f"TopKAccuracy averaging must be one of {AVERAGING}, got {averaging!r}")
    return _computations(
        name, lambda table: [accuracy_from_class_hits(table, 2, averaging)], (k,),
        model_names, output_names, eval_config,
    )


def _class_topk_hits(name: str = "class_topk_hits", ks=(1, 3), model_names=None, output_names=None, eval_config=None):
    return _computations(name, lambda table: [table], tuple(ks), model_names, output_names, eval_config)


class TopKAccuracy(metric_types.Metric):
    """Top-k accuracy, averaged over examples or over the classes of the slice."""

    def __init__(self, name: str = "top1_accuracy", k: int = 1, averaging: str = "example"):
        if averaging not in AVERAGING:
            raise ValueError(f"TopKAccuracy averaging must be one of {AVERAGING}, got {averaging!r}")
        if k < 1:
            raise ValueError(f"TopKAccuracy k must be at least 1, got {k}")
        super().__init__(_topk_accuracy, name=name, k=k, averaging=averaging)

    @property
    def compute_confidence_interval(self) -> bool:
        # A scalar of the slice's examples: TFMA's jackknife / bootstrap resample it
        # (eval.confidence_intervals).
        return True


class ClassTopKHits(metric_types.Metric):
    """Per class of the slice: ``[class_id, examples, hits@k ...]`` rows (int64)."""

    def __init__(self, name: str = "class_topk_hits", ks=(1, 3)):
        super().__init__(_class_topk_hits, name=name, ks=tuple(int(k) for k in ks))

    @property
    def compute_confidence_interval(self) -> bool:
        return False


metric_types.register_metric(TopKAccuracy)
metric_types.register_metric(ClassTopKHits)
