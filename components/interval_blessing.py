"""Blessing on a confidence interval: the candidate's lower bound must clear the baseline.

TFMA's thresholds (``tfma.MetricThreshold``) compare point estimates, also when TFMA
computed confidence intervals. With a 2-point tail gain on a few hundred eval images,
a point estimate cannot be told from noise. This rule, an option of the Evaluator
(``eval.blessing_interval_rule``, off by default), adds one more condition to TFMA's
thresholds:

    lower bound of the candidate's 95% interval on <metric> over <slice>
        >= the baseline's <metric> on <slice>

read from TFMA's own output (the ``confidence_interval`` of the candidate's metric;
TFMA computes it when ``options.compute_confidence_intervals`` is on). The baseline
is the last blessed model (the Resolver's), evaluated in the same TFMA run on the
same examples. The rule cannot bless a model TFMA's thresholds rejected; it can only
withhold a blessing. Without a baseline (the first model) it does not apply.

``decide`` returns the decision and a sentence saying which rule decided; the
Evaluator's executor writes that sentence on the blessing artifact
(``blessing_rule``) and ``sicot run`` prints it.
"""

from __future__ import annotations

import dataclasses
import json

from components.tfma_slice_keys import slice_key_items


@dataclasses.dataclass(frozen=True)
class IntervalRule:
    metric: str           # e.g. top1_accuracy
    slice_column: str     # e.g. label_group
    slice_value: str      # e.g. tail
    candidate: str = "candidate"
    baseline: str = "baseline"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "IntervalRule":
        return cls(**json.loads(text))

    @property
    def where(self) -> str:
        return f"{self.metric} on {self.slice_column}={self.slice_value}"


@dataclasses.dataclass(frozen=True)
class IntervalDecision:
    passed: bool | None   # None: the rule did not apply (no baseline)
    message: str


def _slice_matches(proto, rule: IntervalRule) -> bool:
    return slice_key_items(proto.slice_key) == ((rule.slice_column, rule.slice_value),)


def decide(metrics_for_slices, rule: IntervalRule) -> IntervalDecision:
    """The rule on TFMA's ``MetricsForSlice`` protos (``tfma.load_metrics(evaluation_uri)``)."""
    candidate_lower = candidate_value = baseline_value = None
    found_slice = False
    for proto in metrics_for_slices:
        if not _slice_matches(proto, rule):
            continue
        found_slice = True
        for kv in proto.metric_keys_and_values:
            if kv.key.name != rule.metric or kv.key.is_diff or not kv.value.HasField("double_value"):
                continue
            if kv.key.model_name == rule.baseline:
                baseline_value = kv.value.double_value.value
            elif kv.key.model_name in (rule.candidate, ""):
                candidate_value = kv.value.double_value.value
                if kv.HasField("confidence_interval"):
                    candidate_lower = kv.confidence_interval.lower_bound.double_value.value
    if not found_slice:
        return IntervalDecision(False, f"interval rule: no {rule.slice_column}={rule.slice_value} slice in the evaluation")
    if baseline_value is None:
        return IntervalDecision(None, f"interval rule ({rule.where}): no baseline model yet, not applied")
    if candidate_lower is None:
        return IntervalDecision(
            False,
            f"interval rule ({rule.where}): the candidate's metric has no confidence interval "
            "(eval.confidence_intervals is none?)",
        )
    passed = candidate_lower >= baseline_value
    relation = ">=" if passed else "<"
    return IntervalDecision(
        passed,
        f"interval rule ({rule.where}): candidate {candidate_value:.4f}, 95% lower bound "
        f"{candidate_lower:.4f} {relation} baseline {baseline_value:.4f}",
    )
