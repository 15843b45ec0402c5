import math

import pytest

from sample_data.long_tail_profile import imbalance_ratio, long_tail_counts


def test_full_decay_is_cifar_lt_exponential_profile():
    counts = long_tail_counts(10, 100, 1)
    assert counts == [round(100 * 0.01 ** (r / 9)) for r in range(10)]
    assert imbalance_ratio(counts) == 100


def test_partial_decay_reaches_the_floor_and_stays_there():
    counts = long_tail_counts(500, 60, 1, decay_share=0.45)
    assert counts[0] == 60 and counts[-1] == 1
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    floor_from = math.ceil(0.45 * 499)
    assert set(counts[floor_from:]) == {1} and counts[floor_from - 30] > 1


@pytest.mark.parametrize("args", [(0, 5, 1), (5, 1, 2), (5, 5, 1, 0.0), (5, 5, 1, 1.5)])
def test_bad_profiles_are_refused(args):
    with pytest.raises(ValueError):
        long_tail_counts(*args)
