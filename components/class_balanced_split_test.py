import random
from collections import Counter

import pytest

from components.class_balanced_split import eval_count, split_by_class


@pytest.mark.parametrize(
    "n, expected",
    [(1, 0), (2, 1), (3, 1), (4, 2), (9, 4), (20, 10), (500, 10)],
)
def test_eval_count_caps_per_class_and_by_fraction(n, expected):
    assert eval_count(n, eval_per_class=10, eval_max_fraction=0.5) == expected


def _data():
    labels, keys = [], []
    for label, n in {"a": 100, "b": 30, "c": 5, "d": 1}.items():
        for i in range(n):
            labels.append(label)
            keys.append(f"{label}-{i}")
    return labels, keys


def test_eval_split_is_balanced_across_classes():
    labels, keys = _data()
    is_eval = split_by_class(labels, keys, eval_per_class=8, eval_max_fraction=0.5, seed=1)
    per_class = Counter(l for l, e in zip(labels, is_eval) if e)
    assert per_class == {"a": 8, "b": 8, "c": 2}
    # Every class keeps training images; the singleton stays in training.
    train = Counter(l for l, e in zip(labels, is_eval) if not e)
    assert train == {"a": 92, "b": 22, "c": 3, "d": 1}


def test_split_is_deterministic_and_independent_of_row_order():
    labels, keys = _data()
    first = split_by_class(labels, keys, 8, 0.5, seed=7)
    chosen = {k for k, e in zip(keys, first) if e}
    order = list(range(len(labels)))
    random.Random(0).shuffle(order)
    shuffled = split_by_class([labels[i] for i in order], [keys[i] for i in order], 8, 0.5, seed=7)
    assert {keys[i] for i, e in zip(order, shuffled) if e} == chosen
    other_seed = split_by_class(labels, keys, 8, 0.5, seed=8)
    assert {k for k, e in zip(keys, other_seed) if e} != chosen


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        split_by_class(["a"], [], 1, 0.5, 0)
