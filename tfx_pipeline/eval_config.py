"""The Evaluator's TFMA configuration: head/tail slices, top-k metrics, blessing rules.

Slices: overall, ``label_group`` (head / tail) and ``label_frequency_bucket`` (e.g.
1-5, 6-20, 21-100, >100); both features come from the exported model's
``transform_features`` signature (TFMA's preprocessing function), computed from the
training counts of the example's class (sicot/head_tail.py), never from the label.

Metrics (evaluation/topk_accuracy_metrics.py): example count; top-1 and top-3
accuracy, per example and averaged per class; per-class hit counts for the report.

Blessing: top-1 at least ``eval.min_top1_accuracy``; with a baseline (the last blessed
model) no more than ``eval.max_top1_drop`` below it (TFMA drops this rule when there is
no baseline yet); tail top-1 at least ``eval.min_tail_top1_accuracy`` when that is > 0.
"""

from __future__ import annotations

import json

import tensorflow_model_analysis as tfma

from components.interval_blessing import IntervalRule
from models import features
from sicot import head_tail
from sicot.config import ConfigError, SicotConfig

METRICS_MODULE = "evaluation.topk_accuracy_metrics"
# TFMA model names of a blessing evaluation: the candidate and the last blessed model
# (not the visual-only *variant*, evaluation.run_results.BASELINE).
CANDIDATE_MODEL, BASELINE_MODEL = "candidate", "baseline"
TAIL_SLICE = tfma.SlicingSpec(feature_values={head_tail.LABEL_GROUP: head_tail.TAIL})

# metric name -> (k, averaging)
TOPK_METRICS = {
    "top1_accuracy": (1, "example"),
    "top3_accuracy": (3, "example"),
    "top1_accuracy_per_class": (1, "class"),
    "top3_accuracy_per_class": (3, "class"),
}
CLASS_HITS = "class_topk_hits"
# eval.split / compare.split -> the example split (of ingest and ImportExampleGen) scored.
EVALUATION_SPLITS = {"test": "eval", "validation": "validation"}


def example_split(split: str) -> str:
    if split not in EVALUATION_SPLITS:
        raise ConfigError(f"unknown evaluation split '{split}' (known: {', '.join(EVALUATION_SPLITS)})")
    return EVALUATION_SPLITS[split]


def slicing_specs() -> list[tfma.SlicingSpec]:
    return [
        tfma.SlicingSpec(),
        tfma.SlicingSpec(feature_keys=[head_tail.LABEL_GROUP]),
        tfma.SlicingSpec(feature_keys=[head_tail.LABEL_FREQUENCY_BUCKET]),
    ]


def _metric(class_name: str, **config) -> tfma.MetricConfig:
    return tfma.MetricConfig(class_name=class_name, module=METRICS_MODULE, config=json.dumps(config))


def _top1_thresholds(config: SicotConfig, metric: tfma.MetricConfig, with_baseline: bool) -> None:
    e = config.eval
    metric.threshold.value_threshold.lower_bound.value = e.min_top1_accuracy
    if with_baseline:
        metric.threshold.change_threshold.CopyFrom(
            tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -e.max_top1_drop}
            )
        )
    if e.min_tail_top1_accuracy > 0:
        metric.per_slice_thresholds.append(
            tfma.PerSliceMetricThreshold(
                slicing_specs=[TAIL_SLICE],
                threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(lower_bound={"value": e.min_tail_top1_accuracy})
                ),
            )
        )


def metrics_specs(config: SicotConfig, with_baseline: bool = False) -> list[tfma.MetricsSpec]:
    metrics = [tfma.MetricConfig(class_name="ExampleCount")]
    for name, (k, averaging) in TOPK_METRICS.items():
        metric = _metric("TopKAccuracy", name=name, k=k, averaging=averaging)
        if name == "top1_accuracy":
            _top1_thresholds(config, metric, with_baseline)
        metrics.append(metric)
    # The per-class table only for the candidate: arrays are not diffed against a baseline.
    hits = tfma.MetricsSpec(metrics=[_metric("ClassTopKHits", name=CLASS_HITS, ks=[1, 3])])
    if with_baseline:
        hits.model_names.append(CANDIDATE_MODEL)
    return [tfma.MetricsSpec(metrics=metrics), hits]


def _model_spec(**kwargs) -> tfma.ModelSpec:
    return tfma.ModelSpec(
        signature_name="predict_examples",
        prediction_key="probabilities",
        label_key=features.LABEL_ID,
        preprocessing_function_names=["transform_features"],
        **kwargs,
    )


CONFIDENCE_INTERVAL_METHODS = ("none", "jackknife", "poisson_bootstrap")


def tfma_options(config: SicotConfig) -> tfma.Options:
    """TFMA's options: confidence intervals on every slice metric (eval.confidence_intervals)."""
    method = config.eval.confidence_intervals
    if method not in CONFIDENCE_INTERVAL_METHODS:
        raise ConfigError(f"unknown eval.confidence_intervals '{method}' (known: {', '.join(CONFIDENCE_INTERVAL_METHODS)})")
    options = tfma.Options()
    if method != "none":
        options.compute_confidence_intervals.value = True
        options.confidence_intervals.method = getattr(tfma.ConfidenceIntervalOptions, method.upper())
    return options


def interval_rule(config: SicotConfig) -> IntervalRule | None:
    """The blessing's interval rule (eval.blessing_interval_rule): tail top-1, candidate's
    lower 95% bound against the baseline's value; None when off."""
    if not config.eval.blessing_interval_rule:
        return None
    if config.eval.confidence_intervals == "none":
        raise ConfigError("eval.blessing_interval_rule needs eval.confidence_intervals (jackknife or poisson_bootstrap)")
    return IntervalRule(metric="top1_accuracy", slice_column=head_tail.LABEL_GROUP, slice_value=head_tail.TAIL,
                        candidate=CANDIDATE_MODEL, baseline=BASELINE_MODEL)


def eval_config(config: SicotConfig, with_baseline: bool = True) -> tfma.EvalConfig:
    """The pipeline's EvalConfig; ``with_baseline``: gate the candidate on the last
    blessed model (the Evaluator gets it from a resolver; TFMA ignores the change
    threshold while there is none)."""
    head_tail.check_bounds(config.eval.frequency_buckets)
    if with_baseline:
        model_specs = [_model_spec(name=CANDIDATE_MODEL), _model_spec(name=BASELINE_MODEL, is_baseline=True)]
    else:
        model_specs = [_model_spec()]
    return tfma.EvalConfig(
        model_specs=model_specs,
        slicing_specs=slicing_specs(),
        metrics_specs=metrics_specs(config, with_baseline),
        options=tfma_options(config),
    )
