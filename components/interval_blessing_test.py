"""The interval rule decides on TFMA's own MetricsForSlice protos."""

import pytest
from components.interval_blessing import IntervalRule, decide
from tests.tfma_metrics_protos import evaluation

RULE = IntervalRule(metric="top1_accuracy", slice_column="label_group", slice_value="tail")


def test_a_lower_bound_above_the_baseline_passes():
    decision = decide(evaluation(candidate=0.30, lower=0.26, baseline=0.25), RULE)
    assert decision.passed is True
    assert "lower bound 0.2600 >= baseline 0.2500" in decision.message


def test_a_better_point_estimate_whose_interval_reaches_below_the_baseline_fails():
    # TFMA's change threshold would bless this candidate (0.30 > 0.25); the rule does not.
    decision = decide(evaluation(candidate=0.30, lower=0.20, baseline=0.25), RULE)
    assert decision.passed is False
    assert "candidate 0.3000, 95% lower bound 0.2000 < baseline 0.2500" in decision.message


def test_other_slices_and_the_diff_do_not_count():
    # The overall slice's baseline (0.1) and the head slice's bound (0.85) would pass it.
    decision = decide(evaluation(candidate=0.30, lower=0.24, baseline=0.25), RULE)
    assert decision.passed is False


def test_no_baseline_yet_means_the_rule_does_not_apply():
    decision = decide(evaluation(candidate=0.30, lower=0.10, baseline=None), RULE)
    assert decision.passed is None
    assert "no baseline" in decision.message


def test_no_interval_fails_with_the_reason():
    decision = decide(evaluation(candidate=0.30, lower=None, baseline=0.25), RULE)
    assert decision.passed is False
    assert "no confidence interval" in decision.message


def test_no_tail_slice_fails():
    decision = decide(evaluation(0.3, 0.28, 0.25, tail_column="label_frequency_bucket"), RULE)
    assert decision.passed is False
    assert "no label_group=tail slice" in decision.message


@pytest.mark.parametrize("rule", [RULE, IntervalRule("top3_accuracy", "label_frequency_bucket", "1-2", "c", "b")])
def test_json_round_trip(rule):
    assert IntervalRule.from_json(rule.to_json()) == rule
