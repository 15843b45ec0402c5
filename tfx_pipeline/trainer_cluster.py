"""Where the pipeline's Trainer step trains (``pipeline.trainer_cluster``).

- ``none``: in its own step, where the orchestrator runs it (SicotTrainer).
- ``vertex``: as a Vertex AI CustomJob (VertexSicotTrainer; tfx_pipeline/vertex_training.py).
- ``tfjob``: as a Kubeflow TFJob on the Kubernetes cluster the pipeline runs in
  (TFJobSicotTrainer; tfx_pipeline/tfjob_training.py).

Each keeps the step id ``SicotTrainer`` and the same inputs and outputs.
"""

from __future__ import annotations

from typing import Any

from components.sicot_trainer import SicotTrainer
from components.tfjob_sicot_trainer import TFJobSicotTrainer
from components.vertex_sicot_trainer import VertexSicotTrainer
from sicot.config import ConfigError, SicotConfig
from tfx_pipeline import tfjob_training, vertex_training

TRAINER_CLUSTERS = ("none", "vertex", "tfjob")


def check_cluster(config: SicotConfig) -> None:
    cluster = config.pipeline.trainer_cluster
    if cluster not in TRAINER_CLUSTERS:
        raise ConfigError(f"unknown pipeline.trainer_cluster '{cluster}' (known: {', '.join(TRAINER_CLUSTERS)})")
    vertex_training.check_cluster(config)
    tfjob_training.check_cluster(config)


def trainer_step(config: SicotConfig) -> tuple[type[SicotTrainer], dict[str, Any]]:
    """The Trainer component's class and what its custom_config carries besides the sicot
    configuration."""
    check_cluster(config)
    cluster = config.pipeline.trainer_cluster
    if cluster == "vertex":
        return VertexSicotTrainer, vertex_training.vertex_custom_config(config)
    if cluster == "tfjob":
        return TFJobSicotTrainer, tfjob_training.tfjob_custom_config(config)
    return SicotTrainer, {}


def describe(config: SicotConfig) -> str:
    """One line for the console ('' when the Trainer trains in its own step)."""
    check_cluster(config)
    return vertex_training.describe(config) or tfjob_training.describe(config)
