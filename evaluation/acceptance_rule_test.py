"""The acceptance rule: judged only at its planned seeds, over those seeds only, each
condition as written; hand-made results documents with known gains."""

import json

import numpy as np
import pytest
from scipy import stats

from evaluation.acceptance_rule import (
    MET,
    NOT_MET,
    PENDING,
    AcceptanceRuleError,
    judge,
    seed_list,
)
from evaluation.tables import acceptance_table
from sicot.config import AcceptanceConfig, ConfigError

SLICES = ["overall", "head", "tail"]
TARGET_1 = AcceptanceConfig(variant="sicot", min_mean_gain={"tail": 0.02, "head": -0.005},
                            interval_above_zero=["tail"])


def model(variant, seed, tail, head=0.40, overall=0.20) -> dict:
    return {"variant": variant, "seed": seed,
            "slices": {"overall": {"top1_accuracy": overall}, "head": {"top1_accuracy": head},
                       "tail": {"top1_accuracy": tail}}}


def document(tail_gains: dict[int, float], head_gains: dict[int, float] | None = None,
             extra: list[dict] = ()) -> dict:
    """Baseline tail 0.15 and head 0.40 at every seed; SICoT = baseline + the gains."""
    head_gains = head_gains or {s: 0.0 for s in tail_gains}
    models = [model("baseline", s, 0.15) for s in tail_gains]
    models += [model("sicot-bilinear_attention", s, 0.15 + g, 0.40 + head_gains[s]) for s, g in tail_gains.items()]
    return {"slices": SLICES, "models": models + list(extra)}


def verdict(doc, rule=TARGET_1, planned=range(11, 15)):
    return judge(doc, rule, "sicot-bilinear_attention", "baseline", list(planned))


def test_met_when_every_condition_holds_with_the_paired_t_interval():
    gains = {11: 0.03, 12: 0.025, 13: 0.035, 14: 0.02}
    v = verdict(document(gains))
    assert v.status == MET and v.paired_seeds == [11, 12, 13, 14]
    tail_mean, head_mean, tail_interval = v.conditions  # the rule's order: means, then intervals
    assert (tail_mean.slice, tail_mean.kind, head_mean.slice, tail_interval.kind) == ("tail", "mean", "head", "interval")
    diffs = np.array(list(gains.values()))
    half = stats.t.ppf(0.975, 3) * diffs.std(ddof=1) / 2
    assert tail_interval.measured["ci95"] == pytest.approx([diffs.mean() - half, diffs.mean() + half])
    assert all(c.holds for c in v.conditions)


@pytest.mark.parametrize("gains, head, failing", [
    ({11: 0.05, 12: -0.04, 13: 0.06, 14: 0.03}, 0.0, {"tail gain's 95% t interval above 0"}),  # mean 2.5, wide
    ({11: 0.012, 12: 0.018, 13: 0.015, 14: 0.015}, 0.0, {"tail mean gain >= +2.0 points"}),  # tight, but 1.5
    ({11: 0.03, 12: 0.03, 13: 0.031, 14: 0.029}, -0.006, {"head mean gain >= -0.5 points"}),  # head -0.6
])
def test_not_met_names_the_conditions_that_fail(gains, head, failing):
    v = verdict(document(gains, {s: head for s in gains}))
    assert v.status == NOT_MET
    assert {c.text for c in v.conditions if not c.holds} == failing


def test_a_mean_exactly_at_the_floor_holds():
    # 0.17 - 0.15 is 0.01999999999999999 in floating point: the floor allows for rounding.
    v = verdict(document({11: 0.02, 12: 0.02}, {11: -0.005, 12: -0.005}),
                AcceptanceConfig(variant="sicot", min_mean_gain={"tail": 0.02, "head": -0.005}), planned=[11, 12])
    assert v.status == MET


def test_pending_until_every_planned_seed_has_both_models_and_then_no_numbers():
    gains = {11: 0.05, 12: 0.06, 13: 0.055}
    extra = [model("baseline", 14, 0.15)]  # seed 14's SICoT model is not trained yet
    v = verdict(document(gains, extra=extra))
    assert v.status == PENDING and v.paired_seeds == [11, 12, 13] and v.planned_seeds == [11, 12, 13, 14]
    assert all(c.measured is None and c.holds is None for c in v.conditions)
    table = acceptance_table(v.to_dict())
    assert "PENDING" in table.title and "3 of the 4 planned seeds have both models (11-13)" in table.note
    assert {row[1] for row in table.rows} == {"-"} and {row[2] for row in table.rows} == {"not judged"}


def test_only_the_planned_seeds_count():
    # Seeds 1-3 (an earlier, screened run in the same store) lose on the tail; the plan is 11-14.
    earlier = document({1: -0.10, 2: -0.10, 3: -0.10})["models"]
    v = verdict(document({11: 0.03, 12: 0.025, 13: 0.035, 14: 0.02}, extra=earlier))
    assert v.status == MET and v.paired_seeds == [11, 12, 13, 14]
    assert v.conditions[1].measured["n"] == 4


def test_one_planned_seed_has_no_interval_so_an_interval_condition_fails():
    v = verdict(document({11: 0.05}), planned=[11])
    assert v.status == NOT_MET
    assert [c.holds for c in v.conditions] == [True, True, False]


def test_the_table_of_a_judged_rule():
    v = verdict(document({11: 0.03, 12: 0.025, 13: 0.035, 14: 0.02}))
    table = acceptance_table(v.to_dict())
    assert table.title == ("Acceptance rule: sicot-bilinear_attention vs baseline, top1_accuracy (%), "
                           "seeds 11-14: MET")
    assert table.rows[0] == ["tail mean gain >= +2.0 points", "+2.7 ± 0.6 [+1.7, +3.8]", "yes"]
    assert table.rows[2] == ["tail gain's 95% t interval above 0", "+2.7 ± 0.6 [+1.7, +3.8]", "yes"]
    assert "4 planned seeds" in table.note


@pytest.mark.parametrize("rule, message", [
    (AcceptanceConfig(variant="sicot"), "sets no condition"),
    (AcceptanceConfig(variant="sicot", min_mean_gain={"tails": 0.02}), "unknown slice"),
    (AcceptanceConfig(variant="sicot", interval_above_zero=["few"]), "unknown slice"),
    (AcceptanceConfig(variant="sicot", metric="top2_accuracy", min_mean_gain={"tail": 0.0}), "unknown metric"),
])
def test_a_rule_that_cannot_be_judged_is_refused_as_a_configuration_error(rule, message):
    with pytest.raises(AcceptanceRuleError, match=message) as raised:
        verdict(document({11: 0.03}), rule, planned=[11])
    assert isinstance(raised.value, ConfigError)


def test_no_planned_seeds_is_refused():
    with pytest.raises(AcceptanceRuleError, match="no planned seeds"):
        verdict(document({11: 0.03}), planned=[])


def test_a_slice_missing_from_a_planned_model_is_refused():
    doc = document({11: 0.03, 12: 0.03})
    del doc["models"][-1]["slices"]["tail"]
    with pytest.raises(AcceptanceRuleError, match="no top1_accuracy for 1 of the planned seeds"):
        verdict(doc, planned=[11, 12])


@pytest.mark.parametrize("seeds, text", [
    ([11, 12, 13], "11-13"), ([1, 2], "1, 2"), ([1, 3, 5], "1, 3, 5"), ([7], "7")])
def test_seed_list(seeds, text):
    assert seed_list(seeds) == text


def test_a_verdict_on_numpy_accuracies_is_plain_json():
    # Accuracies read from TFMA are numpy floats; the verdict goes into results.json.
    doc = document({11: 0.03, 12: 0.025, 13: 0.035})
    for m in doc["models"]:
        m["slices"] = {s: {k: np.float64(v) for k, v in d.items()} for s, d in m["slices"].items()}
    verdict_dict = verdict(doc, planned=[11, 12, 13]).to_dict()
    assert json.loads(json.dumps(verdict_dict))["status"] == MET
