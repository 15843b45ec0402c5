"""The seeds a paired t test needs for 80% power: published values and a simulation."""

import math

import numpy as np
import pytest
from scipy import stats

from evaluation.seeds_for_power import MAX_SEEDS, paired_t_power, seeds_for_power


@pytest.mark.parametrize("effect, seeds", [(0.2, 199), (0.5, 34), (0.8, 15), (1.0, 10)])
def test_matches_the_published_one_sample_t_sample_sizes(effect, seeds):
    # G*Power / Cohen (1988): one-sample (paired) t test, two-sided alpha 0.05, power 0.8.
    assert seeds_for_power(effect * 3.0, 3.0) == seeds
    assert seeds_for_power(-effect * 3.0, 3.0) == seeds  # a loss needs as many seeds as a gain


def test_the_answer_is_the_first_count_that_reaches_the_power():
    mean, std = 2.14, 2.36  # the SKU benchmark's 5-seed tail top-1 gain of the default
    needed = seeds_for_power(mean, std)
    assert paired_t_power(mean, std, needed) >= 0.8 > paired_t_power(mean, std, needed - 1)


def test_power_agrees_with_simulated_paired_t_tests():
    rng = np.random.default_rng(0)
    mean, std, seeds = 1.0, 1.5, 8
    differences = rng.normal(mean, std, size=(20000, seeds))
    t = differences.mean(axis=1) / (differences.std(axis=1, ddof=1) / math.sqrt(seeds))
    simulated = float(np.mean(np.abs(t) > stats.t.ppf(0.975, seeds - 1)))
    assert paired_t_power(mean, std, seeds) == pytest.approx(simulated, abs=0.015)


def test_no_gain_and_no_spread():
    assert seeds_for_power(0.0, 1.0) is None  # power stays at alpha
    assert paired_t_power(0.0, 1.0, 10) == pytest.approx(0.05)
    assert seeds_for_power(0.5, 0.0) == 2  # no spread: any two seeds show it
    assert seeds_for_power(0.01, 1.0) is None  # d = 0.01 needs far more than MAX_SEEDS
    assert seeds_for_power(float("nan"), 1.0) is None
    assert seeds_for_power(1.0, float("nan")) is None
    assert MAX_SEEDS == 200


def test_one_seed_is_refused():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        paired_t_power(1.0, 1.0, 1)


@pytest.mark.filterwarnings("error")
def test_a_huge_effect_needs_two_seeds_without_warnings():
    # d = 100: Boost's noncentral t divides by zero far out in the tail; the power is 1.
    assert paired_t_power(1.0, 0.01, MAX_SEEDS) == 1.0
    assert seeds_for_power(1.0, 0.01) == 2
