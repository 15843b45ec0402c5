"""A comparison's acceptance rule, written before its runs and judged only at its planned seeds.

The rule (``compare.acceptance``, sicot/config.py) names a variant, a reference, a
metric, a floor on the mean gain for some slices, and the slices whose gain's 95% t
interval must lie above 0. Issue 11's target 1 (SICoT's tail top-1 at least +2.0 over
the visual-only baseline with the interval above 0, head no worse than -0.5), at 12
seeds planned in advance (``configs/issue11_target1.yaml``)::

    compare:
      seeds: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
      split: test
      acceptance:
        variant: sicot
        reference: baseline
        min_mean_gain: {tail: 0.02, head: -0.005}
        interval_above_zero: [tail]

The gains are paired by seed, ``variant - reference`` per seed, over the planned seeds
only (``acceptance.seeds``, else ``compare.seeds``), with the same statistics as every
table (results_document.gain_stats: mean, sample std, Student t interval). The verdict
is given only when every planned seed has both models; before that it is ``pending``
and carries no numbers. Judging at whatever count a run has reached, or adding seeds
until the interval clears 0, is optional stopping: each look is another chance for
noise to pass, and a paired t test's 5% error rate grows with the looks. A model of a
seed outside the plan is not used.
"""

from __future__ import annotations

import dataclasses

from evaluation.results_document import ACCURACY_METRICS, gain_stats
from sicot.config import AcceptanceConfig, ConfigError

MET, NOT_MET, PENDING = "met", "not met", "pending"
# A mean gain this close below its floor counts as at the floor: accuracies are ratios
# of counts, and their differences carry floating-point rounding (0.17 - 0.15 < 0.02).
ROUNDING = 1e-9


class AcceptanceRuleError(ConfigError):
    """A rule that cannot be judged (the command line prints it as a configuration error)."""


@dataclasses.dataclass
class Condition:
    slice: str
    kind: str  # "mean" (mean gain >= bound) or "interval" (the 95% interval's lower end > 0)
    bound: float
    text: str  # what it asks, for a person ("tail mean gain >= +2.0 points")
    measured: dict | None = None  # the gain's statistics (gain_stats) once judged
    holds: bool | None = None


@dataclasses.dataclass
class Verdict:
    status: str  # MET, NOT_MET or PENDING
    variant: str
    reference: str
    metric: str
    planned_seeds: list[int]
    paired_seeds: list[int]  # planned seeds that have both models
    conditions: list[Condition]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_rule(rule: AcceptanceConfig, slices: list[str]) -> None:
    """Refuses a rule that names an unknown metric or slice, or sets no condition."""
    if rule.metric not in ACCURACY_METRICS:
        raise AcceptanceRuleError(f"compare.acceptance.metric: unknown metric '{rule.metric}' "
                                  f"(known: {', '.join(ACCURACY_METRICS)})")
    named = [*rule.min_mean_gain, *rule.interval_above_zero]
    if not named:
        raise AcceptanceRuleError(f"compare.acceptance: the rule for '{rule.variant}' sets no condition "
                                  f"(min_mean_gain or interval_above_zero)")
    unknown = [s for s in named if s not in slices]
    if unknown:
        raise AcceptanceRuleError(f"compare.acceptance: unknown slice(s) {', '.join(unknown)} "
                                  f"(this comparison's: {', '.join(slices)})")


def conditions_of(rule: AcceptanceConfig) -> list[Condition]:
    out = [Condition(s, "mean", float(bound), f"{s} mean gain >= {100 * bound:+.1f} points")
           for s, bound in rule.min_mean_gain.items()]
    return out + [Condition(s, "interval", 0.0, f"{s} gain's 95% t interval above 0") for s in rule.interval_above_zero]


def judge(document: dict, rule: AcceptanceConfig, variant: str, reference: str,
          planned_seeds: list[int]) -> Verdict:
    """The verdict of ``rule`` on a results document (results_document.build_results).
    ``variant`` and ``reference``: the rule's variants by their results' names
    (``sicot`` -> ``sicot-<encoder>``); ``planned_seeds``: the seeds the rule is judged at."""
    check_rule(rule, document["slices"])
    if not planned_seeds:
        raise AcceptanceRuleError("compare.acceptance: no planned seeds (acceptance.seeds or compare.seeds)")
    planned = sorted(set(planned_seeds))
    by_key = {(m["variant"], m["seed"]): m for m in document["models"]}
    paired = [s for s in planned if (variant, s) in by_key and (reference, s) in by_key]
    conditions = conditions_of(rule)
    verdict = Verdict(PENDING, variant, reference, rule.metric, planned, paired, conditions)
    if paired != planned:
        return verdict
    for c in conditions:
        differences = [by_key[(variant, s)]["slices"].get(c.slice, {}).get(rule.metric, float("nan"))
                       - by_key[(reference, s)]["slices"].get(c.slice, {}).get(rule.metric, float("nan"))
                       for s in planned]
        c.measured = gain_stats(differences)
        if c.measured["n"] < len(planned):
            raise AcceptanceRuleError(f"compare.acceptance: slice '{c.slice}' has no {rule.metric} for "
                                      f"{len(planned) - c.measured['n']} of the planned seeds' models")
        if c.kind == "mean":
            c.holds = bool(c.measured["mean"] >= c.bound - ROUNDING)
        else:  # one seed has no interval: the condition cannot hold
            c.holds = bool(c.measured["ci95"] is not None and c.measured["ci95"][0] > 0)
    verdict.status = MET if all(c.holds for c in conditions) else NOT_MET
    return verdict


def seed_list(seeds: list[int]) -> str:
    """``11-22`` for a run of consecutive seeds, else ``1, 3, 5``."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)
