"""Head and tail classes, and frequency buckets, by training-image count.

A class is *head* when it has at least ``head_min_train_images`` training images, else
*tail* (the paper: 200, 5000, 100 and 200 on its four data sets). Frequency buckets
split the counts at increasing bounds: bounds ``[5, 20, 100]`` give the buckets
``1-5``, ``6-20``, ``21-100`` and ``>100`` (a count equal to a bound falls in the
bucket it closes). A class with no training image is ``unseen``.

The counts come from the train split (Transform's ``label_frequency`` vocabulary). The
exported model attaches both to every eval example (``transform_features``), so TFMA
slices on them; this module holds the one definition that the graph
(models/export.py) and the reports follow.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

HEAD, TAIL, UNSEEN = "head", "tail", "unseen"
LABEL_GROUP = "label_group"  # feature: "head" or "tail"
LABEL_FREQUENCY_BUCKET = "label_frequency_bucket"  # feature: e.g. "6-20"


def check_bounds(bounds: Sequence[int]) -> list[int]:
    bounds = [int(b) for b in bounds]
    if not bounds or bounds[0] < 1 or any(b >= c for b, c in zip(bounds, bounds[1:])):
        raise ValueError(f"frequency bucket bounds must be increasing positive integers, got {bounds}")
    return bounds


def bucket_names(bounds: Sequence[int]) -> list[str]:
    """Names of the buckets that ``bounds`` make, smallest counts first."""
    bounds = check_bounds(bounds)
    lows = [1] + [b + 1 for b in bounds]
    names = [f"{lo}-{hi}" if lo < hi else str(hi) for lo, hi in zip(lows, bounds)]
    return names + [f">{bounds[-1]}"]


def bucket_of(counts: np.ndarray, bounds: Sequence[int]) -> np.ndarray:
    """The bucket name of each training count (``unseen`` for 0)."""
    counts = np.asarray(counts)
    names = np.array(bucket_names(bounds) + [UNSEEN], dtype=object)
    index = np.searchsorted(np.asarray(check_bounds(bounds)), counts, side="left")
    return names[np.where(counts > 0, index, len(names) - 1)]


def group_of(counts: np.ndarray, head_min_train_images: int) -> np.ndarray:
    """``head`` or ``tail`` for each training count."""
    return np.where(np.asarray(counts) >= head_min_train_images, HEAD, TAIL).astype(object)
