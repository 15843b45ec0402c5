import numpy as np
import pytest

from sicot.head_tail import bucket_names, bucket_of, group_of


def test_bucket_names_follow_the_bounds():
    assert bucket_names([5, 20, 100]) == ["1-5", "6-20", "21-100", ">100"]
    assert bucket_names([1, 3]) == ["1", "2-3", ">3"]


def test_counts_on_a_bound_fall_in_the_bucket_it_closes():
    counts = np.array([0, 1, 5, 6, 20, 21, 100, 101, 5000])
    assert bucket_of(counts, [5, 20, 100]).tolist() == [
        "unseen", "1-5", "1-5", "6-20", "6-20", "21-100", "21-100", ">100", ">100"]


def test_head_is_at_least_the_threshold():
    assert group_of(np.array([199, 200, 201, 1]), 200).tolist() == ["tail", "head", "head", "tail"]


@pytest.mark.parametrize("bounds", [[], [0, 5], [5, 5], [20, 5]])
def test_bad_bounds_are_refused(bounds):
    with pytest.raises(ValueError, match="increasing positive"):
        bucket_names(bounds)
