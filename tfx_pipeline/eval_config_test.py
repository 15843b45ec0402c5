"""The Evaluator's TFMA configuration: model specs, slices, metrics, blessing rules, options.

(evaluation/topk_accuracy_metrics_test.py runs these specs through real TFMA; here the
configuration itself is checked against what the module docstring promises.)
"""

import json

import pytest
import tensorflow_model_analysis as tfma

from components.interval_blessing import IntervalRule
from models import features
from sicot.config import ConfigError, load_config
from sicot.head_tail import LABEL_FREQUENCY_BUCKET, LABEL_GROUP, TAIL
from tfx_pipeline.eval_config import (
    BASELINE_MODEL, CANDIDATE_MODEL, CLASS_HITS, METRICS_MODULE, eval_config, example_split, interval_rule,
    metrics_specs, slicing_specs, tfma_options)


def config(*settings):
    return load_config(None, settings)


def top1(specs):
    (metric,) = [m for s in specs for m in s.metrics if m.config and json.loads(m.config)["name"] == "top1_accuracy"]
    return metric


@pytest.mark.parametrize("split, examples", [("test", "eval"), ("validation", "validation")])
def test_evaluation_split_to_example_split(split, examples):
    assert example_split(split) == examples


def test_an_unknown_evaluation_split_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"^unknown evaluation split 'train' \(known: test, validation\)$"):
        example_split("train")


def test_slices_overall_then_head_tail_then_frequency_bucket():
    assert slicing_specs() == [
        tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[LABEL_GROUP]),
        tfma.SlicingSpec(feature_keys=[LABEL_FREQUENCY_BUCKET])]


def test_metrics_example_count_and_topk_then_class_hits():
    specs = metrics_specs(config())
    assert len(specs) == 2
    main, hits = specs
    assert main.metrics[0] == tfma.MetricConfig(class_name="ExampleCount")
    assert [(m.class_name, m.module, json.loads(m.config)) for m in main.metrics[1:]] == [
        ("TopKAccuracy", METRICS_MODULE, {"name": "top1_accuracy", "k": 1, "averaging": "example"}),
        ("TopKAccuracy", METRICS_MODULE, {"name": "top3_accuracy", "k": 3, "averaging": "example"}),
        ("TopKAccuracy", METRICS_MODULE, {"name": "top1_accuracy_per_class", "k": 1, "averaging": "class"}),
        ("TopKAccuracy", METRICS_MODULE, {"name": "top3_accuracy_per_class", "k": 3, "averaging": "class"}),
    ]
    assert not main.model_names  # every model, the baseline included
    (hit,) = hits.metrics
    assert (hit.class_name, hit.module, json.loads(hit.config)) == (
        "ClassTopKHits", METRICS_MODULE, {"name": CLASS_HITS, "ks": [1, 3]})
    assert list(hits.model_names) == []


def test_only_top1_carries_thresholds():
    specs = metrics_specs(config("eval.min_top1_accuracy=0.4", "eval.min_tail_top1_accuracy=0.1"), with_baseline=True)
    others = [m for s in specs for m in s.metrics
              if not m.config or json.loads(m.config)["name"] != "top1_accuracy"]
    assert len(others) == 5
    assert all(not m.HasField("threshold") and not m.per_slice_thresholds for m in others)


def test_top1_floor_without_a_baseline_has_no_change_threshold():
    metric = top1(metrics_specs(config("eval.min_top1_accuracy=0.35"), with_baseline=False))
    assert metric.threshold.value_threshold.lower_bound.value == pytest.approx(0.35)
    assert not metric.threshold.HasField("change_threshold")
    assert not metric.per_slice_thresholds  # eval.min_tail_top1_accuracy is 0: no tail floor


def test_with_a_baseline_top1_may_drop_at_most_max_top1_drop():
    specs = metrics_specs(config("eval.min_top1_accuracy=0.35", "eval.max_top1_drop=0.02"), with_baseline=True)
    threshold = top1(specs).threshold
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.35)
    change = threshold.change_threshold
    assert change.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert change.absolute.value == pytest.approx(-0.02)
    assert not change.HasField("relative")
    # The per-class table is computed for the candidate only.
    assert list(specs[1].model_names) == [CANDIDATE_MODEL]


def test_tail_floor_is_a_per_slice_threshold_on_the_tail_slice():
    metric = top1(metrics_specs(config("eval.min_tail_top1_accuracy=0.15"), with_baseline=True))
    (per_slice,) = metric.per_slice_thresholds
    assert list(per_slice.slicing_specs) == [tfma.SlicingSpec(feature_values={LABEL_GROUP: TAIL})]
    assert per_slice.threshold.value_threshold.lower_bound.value == pytest.approx(0.15)
    assert not per_slice.threshold.HasField("change_threshold")


def test_eval_config_with_a_baseline_names_the_candidate_and_the_baseline():
    cfg = eval_config(config("eval.max_top1_drop=0.03"))
    candidate, baseline = cfg.model_specs
    common = dict(signature_name="predict_examples", prediction_key="probabilities", label_key=features.LABEL_ID,
                  preprocessing_function_names=["transform_features"])
    assert candidate == tfma.ModelSpec(name=CANDIDATE_MODEL, **common)
    assert baseline == tfma.ModelSpec(name=BASELINE_MODEL, is_baseline=True, **common)
    assert list(cfg.slicing_specs) == slicing_specs()
    assert top1(cfg.metrics_specs).threshold.change_threshold.absolute.value == pytest.approx(-0.03)
    assert list(cfg.metrics_specs[1].model_names) == [CANDIDATE_MODEL]


def test_eval_config_without_a_baseline_has_one_unnamed_model():
    cfg = eval_config(config(), with_baseline=False)
    (model,) = cfg.model_specs
    assert model.name == "" and not model.is_baseline
    assert model.signature_name == "predict_examples" and model.label_key == features.LABEL_ID
    assert not top1(cfg.metrics_specs).threshold.HasField("change_threshold")
    assert list(cfg.metrics_specs[1].model_names) == []


@pytest.mark.parametrize("method, enum", [
    ("jackknife", tfma.ConfidenceIntervalOptions.JACKKNIFE),
    ("poisson_bootstrap", tfma.ConfidenceIntervalOptions.POISSON_BOOTSTRAP),
])
def test_confidence_intervals_on(method, enum):
    options = tfma_options(config(f"eval.confidence_intervals={method}"))
    assert options.compute_confidence_intervals.value is True
    assert options.confidence_intervals.method == enum
    assert eval_config(config(f"eval.confidence_intervals={method}")).options == options


def test_confidence_intervals_off():
    options = tfma_options(config("eval.confidence_intervals=none"))
    assert not options.HasField("compute_confidence_intervals")
    assert not options.HasField("confidence_intervals")


def test_an_unknown_interval_method_is_refused_by_eval_config_too():
    bad = config("eval.confidence_intervals=bca")
    message = r"^unknown eval.confidence_intervals 'bca' \(known: none, jackknife, poisson_bootstrap\)$"
    with pytest.raises(ConfigError, match=message):
        tfma_options(bad)
    with pytest.raises(ConfigError, match=message):
        eval_config(bad)


def test_bad_frequency_buckets_are_refused():
    with pytest.raises(ValueError, match=r"increasing positive integers, got \[5, 5\]"):
        eval_config(config("eval.frequency_buckets=[5,5]"))


def test_interval_rule_off_by_default():
    assert interval_rule(config()) is None
    # Off, the interval method does not matter.
    assert interval_rule(config("eval.confidence_intervals=none")) is None


def test_interval_rule_on_compares_tail_top1_of_candidate_and_baseline():
    rule = interval_rule(config("eval.blessing_interval_rule=true", "eval.confidence_intervals=poisson_bootstrap"))
    assert rule == IntervalRule(metric="top1_accuracy", slice_column=LABEL_GROUP, slice_value=TAIL,
                                candidate=CANDIDATE_MODEL, baseline=BASELINE_MODEL)


def test_interval_rule_needs_confidence_intervals():
    with pytest.raises(ConfigError, match=r"eval.blessing_interval_rule needs eval.confidence_intervals"):
        interval_rule(config("eval.blessing_interval_rule=true", "eval.confidence_intervals=none"))
