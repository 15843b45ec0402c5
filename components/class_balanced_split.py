"""A deterministic per-class hold-out that keeps the eval split balanced across classes.

The paper's test sets hold about the same number of images per class. With long-tailed
data that can only be approximated: every class gives ``min(eval_per_class,
floor(n * eval_max_fraction))`` of its ``n`` images to eval, so large classes give the
same number and small classes give what they can spare while keeping most of their
images for training (a class of one image stays wholly in training).

Which images go to eval depends only on the seed and the image contents (a hash), not
on the order of the manifest: shuffling the manifest gives the same split.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from typing import Hashable, Sequence


def eval_count(n: int, eval_per_class: int, eval_max_fraction: float) -> int:
    """How many of a class's n images go to eval."""
    if n <= 1:
        return 0
    return max(0, min(eval_per_class, math.floor(n * eval_max_fraction), n - 1))


def split_by_class(
    labels: Sequence[Hashable],
    keys: Sequence[str],
    eval_per_class: int,
    eval_max_fraction: float,
    seed: int,
) -> list[bool]:
    """Returns, for each item, True when it goes to eval.

    Args:
      labels: the class of each item.
      keys: a stable identity of each item (the image's content hash).
    """
    if len(labels) != len(keys):
        raise ValueError("labels and keys differ in length")
    by_class: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    is_eval = [False] * len(labels)
    for members in by_class.values():
        ranked = sorted(
            members,
            key=lambda i: hashlib.sha256(f"{seed}:{keys[i]}".encode()).hexdigest(),
        )
        for index in ranked[: eval_count(len(members), eval_per_class, eval_max_fraction)]:
            is_eval[index] = True
    return is_eval
