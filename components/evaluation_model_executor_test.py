"""The Evaluator: the interval rule on a real blessing artifact and TFMA's metrics file."""

import os

import tensorflow as tf
from tfx.types import standard_artifacts

from components.evaluation_model_executor import (
    BLESSING_RULE_PROPERTY, Evaluator, SicotEvaluatorSpec, apply_interval_rule, evaluation_model_path)
from components.interval_blessing import IntervalRule
from tests.tfma_metrics_protos import evaluation

RULE = IntervalRule(metric="top1_accuracy", slice_column="label_group", slice_value="tail")


def blessing_after_tfma(tmp_path, blessed: bool):
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    os.makedirs(blessing.uri)
    name = "BLESSED" if blessed else "NOT_BLESSED"
    open(os.path.join(blessing.uri, name), "w").close()
    blessing.set_int_custom_property("blessed", 1 if blessed else 0)
    return blessing


def write_metrics(tmp_path, protos):
    uri = tmp_path / "evaluation"
    uri.mkdir()
    with tf.io.TFRecordWriter(str(uri / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in protos:
            writer.write(proto.SerializeToString())
    return str(uri)


def test_the_rule_withholds_a_blessing_tfma_gave(tmp_path):
    blessing = blessing_after_tfma(tmp_path, blessed=True)
    uri = write_metrics(tmp_path, evaluation(candidate=0.30, lower=0.20, baseline=0.25))
    apply_interval_rule(blessing, uri, RULE.to_json())
    assert blessing.get_int_custom_property("blessed") == 0
    assert sorted(os.listdir(blessing.uri)) == ["NOT_BLESSED"]
    rule = blessing.get_string_custom_property(BLESSING_RULE_PROPERTY)
    assert rule.startswith("TFMA thresholds: passed; interval rule")
    assert rule.endswith("(blessing withheld)")


def test_the_rule_keeps_a_blessing_it_confirms(tmp_path):
    blessing = blessing_after_tfma(tmp_path, blessed=True)
    uri = write_metrics(tmp_path, evaluation(candidate=0.30, lower=0.27, baseline=0.25))
    apply_interval_rule(blessing, uri, RULE.to_json())
    assert blessing.get_int_custom_property("blessed") == 1
    assert os.listdir(blessing.uri) == ["BLESSED"]


def test_the_rule_never_blesses_what_tfma_rejected(tmp_path):
    blessing = blessing_after_tfma(tmp_path, blessed=False)
    uri = write_metrics(tmp_path, evaluation(candidate=0.30, lower=0.29, baseline=0.25))
    apply_interval_rule(blessing, uri, RULE.to_json())
    assert blessing.get_int_custom_property("blessed") == 0
    assert blessing.get_string_custom_property(BLESSING_RULE_PROPERTY).startswith("TFMA thresholds: failed")


def test_without_the_rule_the_artifact_still_says_what_decided(tmp_path):
    blessing = blessing_after_tfma(tmp_path, blessed=True)
    apply_interval_rule(blessing, str(tmp_path / "nothing"), None)
    assert blessing.get_string_custom_property(BLESSING_RULE_PROPERTY) == "TFMA thresholds: passed"


def test_the_component_carries_the_rule_and_tfx_spec():
    from tfx import types

    examples = types.Channel(type=standard_artifacts.Examples)
    model = types.Channel(type=standard_artifacts.Model)
    import tensorflow_model_analysis as tfma

    evaluator = Evaluator(examples=examples, model=model, eval_config=tfma.EvalConfig(),
                          example_splits=["eval"], interval_rule=RULE)
    assert evaluator.id == "Evaluator"
    assert isinstance(evaluator.spec, SicotEvaluatorSpec)
    assert IntervalRule.from_json(evaluator.exec_properties["interval_rule"]) == RULE
    assert set(evaluator.outputs) == {"evaluation", "blessing"}
    assert Evaluator(examples=examples, model=model, eval_config=tfma.EvalConfig(),
                     example_splits=["eval"]).exec_properties["interval_rule"] is None


def test_the_evaluation_model_is_preferred_when_present(tmp_path):
    serving = tmp_path / "Format-Serving"
    serving.mkdir()
    assert evaluation_model_path(str(tmp_path)) == str(serving)
    tfma_dir = tmp_path / "Format-TFMA"
    tfma_dir.mkdir()
    (tfma_dir / "saved_model.pb").write_bytes(b"")
    assert evaluation_model_path(str(tmp_path)) == str(tfma_dir)
