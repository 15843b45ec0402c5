import numpy as np
import pytest

from sicot.head_tail import slice_accuracies, topk_hits


def test_topk_hits_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3]])
    labels = np.array([1, 2, 0])
    assert topk_hits(p, labels, 1).tolist() == [False, True, False]
    assert topk_hits(p, labels, 2).tolist() == [True, True, False]
    assert topk_hits(p, labels, 5).tolist() == [True, True, True]


def test_slices_and_per_class_averaging_by_hand():
    # Class 0 (head, 100 train images): 3 eval examples, 2 right. Class 1 (tail, 4): 1 right of 1.
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    labels = np.array([0, 0, 0, 1])
    counts = np.array([100, 100, 100, 4])
    acc = slice_accuracies(p, labels, counts, head_min_train_images=50, ks=(1,))
    assert acc["overall"]["top1"] == pytest.approx(3 / 4)
    assert acc["overall"]["top1_per_class"] == pytest.approx((2 / 3 + 1) / 2)
    assert acc["head"] == {"examples": 3, "classes": 1, "top1": pytest.approx(2 / 3), "top1_per_class": pytest.approx(2 / 3)}
    assert acc["tail"]["top1"] == 1.0 and acc["tail"]["examples"] == 1
