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
"""

from __future__ import annotations

import os
import types

from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.io import fileio
from tfx.utils import path_utils


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
            return super().Do(input_dict, output_dict, exec_properties)
        finally:
            evaluator_executor.path_utils = original
