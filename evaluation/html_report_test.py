"""The report's slice bars: which error bars they draw."""

import numpy as np
import pytest

from evaluation.html_report import _slice_errors


def _doc(models):
    return {"models": models}


def test_one_model_gets_tfma_interval_as_asymmetric_bars():
    doc = _doc([{"variant": "baseline", "intervals": {"tail": {"top1_accuracy": [0.10, 0.16]}}}])
    errors = _slice_errors(doc, "baseline", ["overall", "tail"], "top1_accuracy",
                           [{"n": 1, "mean": 0.2, "std": 0.0}, {"n": 1, "mean": 0.12, "std": 0.0}])
    np.testing.assert_allclose(errors[:, 1], [2.0, 4.0])  # 12 - 10 below, 16 - 12 above, in points
    np.testing.assert_allclose(errors[:, 0], [0.0, 0.0])  # no interval for that slice: no bar


def test_several_seeds_get_the_std():
    doc = _doc([{"variant": "baseline", "intervals": {"tail": {"top1_accuracy": [0.0, 1.0]}}}] * 3)
    errors = _slice_errors(doc, "baseline", ["tail"], "top1_accuracy", [{"n": 3, "mean": 0.12, "std": 0.015}])
    assert errors[:, 0] == pytest.approx([1.5, 1.5])
