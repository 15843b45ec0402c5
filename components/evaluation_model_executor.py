"""The Evaluator's executor, reading the evaluation model (Format-TFMA) when there is one.

The Trainer writes two SavedModels (models/export.py): the serving model
(``Format-Serving``: image signatures, core TensorFlow ops, what the Pusher pushes) and
the evaluation model (``Format-TFMA``: also ``transform_features``, TFMA's
preprocessing function with the head/tail slice features, and ``title_attention``).
TFX 1.16's Evaluator reads ``Format-TFMA`` only for the legacy EvalSavedModel
(``tfma.TFMA_EVAL``); for a TF2 model it always reads the serving model
(``tfx/components/evaluator/executor.py``), which has no ``transform_features``. This
executor is TFX's own, with one change: where it asks for a model's serving path it
gets the evaluation model when the artifact holds one, else the serving model (the
fallback TFX's ``path_utils.eval_model_path`` has too; a baseline pushed before the
split still evaluates).

``Evaluator`` here is TFX's Evaluator with this executor and one more execution
property, ``interval_rule`` (components/interval_blessing.py): when set, a blessing
that TFMA's thresholds gave is withdrawn unless the candidate's lower 95% bound on the
rule's metric and slice clears the baseline's value. Either way the blessing artifact
says which rule decided (custom property ``blessing_rule``).
"""

from __future__ import annotations

import os
import types

from tfx.components.evaluator import component as evaluator_component
from tfx.components.evaluator import constants
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx import types as tfx_types
from tfx.types import artifact_utils, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import io_utils, json_utils, path_utils

from components.interval_blessing import IntervalRule, decide

INTERVAL_RULE_KEY = "interval_rule"
BLESSING_RULE_PROPERTY = "blessing_rule"


def evaluation_model_path(model_uri: str, is_old_artifact: bool = False) -> str:
    """Format-TFMA of a Model artifact when it holds a SavedModel, else its serving model."""
    candidate = path_utils.eval_model_dir(model_uri, is_old_artifact)
    if fileio.exists(os.path.join(candidate, "saved_model.pb")):
        return candidate
    return path_utils.serving_model_path(model_uri, is_old_artifact)


class EvaluationModelExecutor(evaluator_executor.Executor):
    """TFX's Evaluator executor, pointed at the evaluation model."""

    def Do(self, input_dict, output_dict, exec_properties):
        # The executor module looks its paths up in its own `path_utils` global: replace
        # that name, for this call, by a view whose serving_model_path is the above.
        view = types.SimpleNamespace(**{n: getattr(path_utils, n) for n in dir(path_utils) if not n.startswith("__")})
        view.serving_model_path = evaluation_model_path
        original, evaluator_executor.path_utils = evaluator_executor.path_utils, view
        try:
            super().Do(input_dict, output_dict, exec_properties)
        finally:
            evaluator_executor.path_utils = original
        blessings = output_dict.get(standard_component_specs.BLESSING_KEY)
        if blessings:
            apply_interval_rule(
                artifact_utils.get_single_instance(blessings),
                artifact_utils.get_single_uri(output_dict[standard_component_specs.EVALUATION_KEY]),
                exec_properties.get(INTERVAL_RULE_KEY) or None,
            )


def apply_interval_rule(blessing, evaluation_uri: str, rule_json: str | None) -> None:
    """Records which rule decided on the blessing artifact; withdraws TFMA's blessing
    when the interval rule is set and fails."""
    blessed_key = constants.ARTIFACT_PROPERTY_BLESSED_KEY
    if blessed_key not in blessing.mlmd_artifact.custom_properties:
        return  # TFMA validated nothing (no thresholds): no blessing to qualify
    blessed = blessing.get_int_custom_property(blessed_key) == constants.BLESSED_VALUE
    rule_text = "TFMA thresholds: " + ("passed" if blessed else "failed")
    if rule_json:
        import tensorflow_model_analysis as tfma

        decision = decide(tfma.load_metrics(evaluation_uri), IntervalRule.from_json(rule_json))
        rule_text += "; " + decision.message
        if blessed and decision.passed is False:
            blessed = False
            fileio.remove(os.path.join(blessing.uri, constants.BLESSED_FILE_NAME))
            io_utils.write_string_file(os.path.join(blessing.uri, constants.NOT_BLESSED_FILE_NAME), "")
            blessing.set_int_custom_property(blessed_key, constants.NOT_BLESSED_VALUE)
            rule_text += " (blessing withheld)"
    blessing.set_string_custom_property(BLESSING_RULE_PROPERTY, rule_text)


class SicotEvaluatorSpec(standard_component_specs.EvaluatorSpec):
    PARAMETERS = {
        **standard_component_specs.EvaluatorSpec.PARAMETERS,
        INTERVAL_RULE_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }


class Evaluator(evaluator_component.Evaluator):
    """TFX's Evaluator reading the evaluation model, with the optional interval rule."""

    SPEC_CLASS = SicotEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(EvaluationModelExecutor)

    def __init__(self, *, examples, model, eval_config, example_splits, baseline_model=None,
                 interval_rule: IntervalRule | None = None):
        spec = SicotEvaluatorSpec(
            examples=examples,
            model=model,
            baseline_model=baseline_model,
            eval_config=eval_config,
            example_splits=json_utils.dumps(example_splits),
            interval_rule=interval_rule.to_json() if interval_rule else None,
            evaluation=tfx_types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=tfx_types.Channel(type=standard_artifacts.ModelBlessing),
        )
        super(evaluator_component.Evaluator, self).__init__(spec=spec)
