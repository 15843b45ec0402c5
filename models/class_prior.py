"""The training prior of the classes, from Transform's training count of each class.

Every long-tail method that reads the prior (the logit-adjusted loss, the post-hoc
adjustment, the class-balanced mixed term) reads it here, with the same floor: a class
with no training image counts as one, so that its log prior (and any power of its
count) stays finite. Such a class can be in the vocabulary (a label seen only in the
eval or validation split) but never weighs a training example.
"""

from __future__ import annotations

import numpy as np


def floored_counts(class_counts: np.ndarray) -> np.ndarray:
    """[C] float64 training images per class id, a class with none counted as one."""
    return np.maximum(np.asarray(class_counts, dtype=np.float64), 1.0)


def log_prior(class_counts: np.ndarray) -> np.ndarray:
    """[C] float64 ``log pi_j``, ``pi_j = n_j / sum_k n_k`` over the floored counts."""
    counts = floored_counts(class_counts)
    return np.log(counts / counts.sum())
