"""How many seeds a paired comparison needs: the power of the paired t test over seeds.

A gain is reported as the mean of the seeds' paired differences with its 95% Student t
interval (``evaluation/results_document.py``). When the interval straddles 0, the
question a practitioner asks next is whether more seeds would settle it, and at what
cost. This module answers it the textbook way, for planning, not as a test:

    d        = mean / std                          (the measured standardised gain)
    power(n) = P(|T| > t(0.975, n - 1)),  T ~ noncentral t(n - 1, d * sqrt(n))
    seeds    = the smallest n >= 2 with power(n) >= 0.8

i.e. the number of seeds at which a two-sided paired t test at 5% would find a gain of
this size and spread 4 times in 5, were the measured mean and standard deviation the
true ones. They are estimates from few seeds, so the answer is a planning figure with
wide error itself; an experiment planned with it is run once, at that many seeds, and
judged at that count (adding seeds until an interval leaves 0 out is optional stopping).

Reference: Cohen, "Statistical Power Analysis for the Behavioral Sciences" (1988),
ch. 2; the noncentral t power is what ``statsmodels``' ``TTestPower`` computes.
"""

from __future__ import annotations

import math

import numpy as np

POWER = 0.8
ALPHA = 0.05
# Above this many seeds the answer is "more than MAX_SEEDS" (None): far past any
# CPU budget, and the plug-in estimate is not worth more digits there.
MAX_SEEDS = 200


def paired_t_power(mean: float, std: float, seeds: int, alpha: float = ALPHA) -> float:
    """The power of the two-sided paired t test at ``seeds`` seeds for a true gain ``mean``
    with a seed-to-seed standard deviation ``std`` of the paired differences."""
    from scipy import stats

    if seeds < 2:
        raise ValueError(f"a t test needs at least 2 seeds, got {seeds}")
    if std <= 0:
        return 1.0 if mean != 0 else alpha
    df = seeds - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = mean / std * math.sqrt(seeds)
    # Far out in the tails (d * sqrt(n) of 50 and more) Boost's noncentral t divides by
    # zero on its way to a power of 1; the clipped answer is right, the warning is noise.
    with np.errstate(divide="ignore", invalid="ignore"):
        power = stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    return float(min(power, 1.0))


def seeds_for_power(mean: float, std: float, power: float = POWER, alpha: float = ALPHA,
                    max_seeds: int = MAX_SEEDS) -> int | None:
    """The smallest number of seeds (>= 2) whose paired t test has at least ``power``
    for this gain and spread; None when no count up to ``max_seeds`` does (a gain of 0,
    or one small against its spread) or when the inputs are not numbers."""
    if not (math.isfinite(mean) and math.isfinite(std)) or std < 0:
        return None
    if mean == 0 or paired_t_power(mean, std, max_seeds, alpha) < power:
        return None
    # The power grows with the seeds: bisect for the first count that reaches it.
    low, high = 2, max_seeds
    while low < high:
        middle = (low + high) // 2
        if paired_t_power(mean, std, middle, alpha) >= power:
            high = middle
        else:
            low = middle + 1
    return low
