"""The pipeline's Trainer step when the training runs as a Vertex AI CustomJob.

``VertexSicotTrainer`` is ``SicotTrainer`` (same spec, inputs and outputs, so the
Evaluator and the Pusher read its model as ever) with TFX's Vertex trainer executor:
the step starts a CustomJob whose every replica runs ``SicotTrainerExecutor`` (the
executor class path handed to tfx.scripts.run_executor in the job's containers) and
waits for it. The job's worker pools, project and region come in the custom_config
(tfx_pipeline/vertex_training.py). The pipeline gives the step the id ``SicotTrainer``,
so that its outputs keep the same place in the pipeline root.
"""

from __future__ import annotations

from tfx.dsl.components.base import executor_spec
from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_trainer_executor

from components.sicot_trainer import SicotTrainer, SicotTrainerExecutor


class VertexSicotTrainerExecutor(vertex_trainer_executor.GenericExecutor):
    """Starts the CustomJob; each replica runs SicotTrainerExecutor."""

    def _GetExecutorClass(self):
        return SicotTrainerExecutor


class VertexSicotTrainer(SicotTrainer):
    """SicotTrainer whose training runs as a Vertex AI CustomJob."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(VertexSicotTrainerExecutor)
