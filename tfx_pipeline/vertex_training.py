"""The Trainer as a Vertex AI CustomJob: the cluster that a multi-worker or
parameter-server Trainer needs inside an orchestrated pipeline.

With ``pipeline.trainer_cluster: vertex`` the pipeline's Trainer step
(components/vertex_sicot_trainer.py) does not train in its own container: it starts a
Vertex AI CustomJob, each of whose replicas runs the Trainer's own executor
(components/sicot_trainer.py, the same ``run_fn``) in ``pipeline.kubeflow_image``, and
waits for the job (TFX's Vertex trainer, tfx.extensions.google_cloud_ai_platform).
Vertex sets every replica's TF_CONFIG from the worker pools: pool 0 is the ``chief``,
pool 1 the ``worker`` tasks, pool 2 the ``ps`` tasks
(https://cloud.google.com/vertex-ai/docs/training/distributed-training), the cluster
that ``distribute.strategy`` multi_worker_mirrored and parameter_server read
(training/distribution.py). Only the chief writes the model (models/trainer.py) and
the job ends when the chief does.

- ``check_cluster(config)``: refuses, with the setting to change, a cluster the
  configured strategy cannot use (workers without a multi-worker strategy, parameter
  servers without ``parameter_server``, an accelerator type without a count, ...).
- ``worker_pool_specs(config)``: the CustomJob's worker pools.
- ``vertex_custom_config(config)``: what the Trainer's custom_config carries besides
  the sicot configuration (models/custom_config.py): TFX's Vertex trainer keys.
- ``describe(config)``: one line for the console ('' when the Trainer trains in its step).
"""

from __future__ import annotations

from typing import Any

from tfx.extensions.google_cloud_ai_platform.constants import ENABLE_VERTEX_KEY, VERTEX_REGION_KEY
from tfx.extensions.google_cloud_ai_platform.trainer.executor import TRAINING_ARGS_KEY

from sicot.config import ConfigError, SicotConfig
from training.distribution import check_cluster_shape


def on_vertex(config: SicotConfig) -> bool:
    """Whether the pipeline's Trainer runs as a Vertex AI CustomJob (after check_cluster;
    tfx_pipeline/trainer_cluster.py checks the setting's value)."""
    check_cluster(config)
    return config.pipeline.trainer_cluster == "vertex"


def check_cluster(config: SicotConfig) -> None:
    p = config.pipeline
    if p.trainer_cluster != "vertex":
        return
    if not p.vertex_project:
        raise ConfigError("pipeline.trainer_cluster=vertex needs pipeline.vertex_project (the Google Cloud "
                          "project the training job runs in)")
    if not p.vertex_region:
        raise ConfigError("pipeline.trainer_cluster=vertex needs pipeline.vertex_region (e.g. us-central1)")
    check_cluster_shape(config.distribute.strategy, p.vertex_workers, p.vertex_parameter_servers, cluster="Vertex",
                        workers_setting="pipeline.vertex_workers",
                        servers_setting="pipeline.vertex_parameter_servers")
    if p.vertex_accelerator_count < 0 or bool(p.vertex_accelerator_type) != (p.vertex_accelerator_count > 0):
        raise ConfigError(
            f"pipeline.vertex_accelerator_type ('{p.vertex_accelerator_type}') and "
            f"pipeline.vertex_accelerator_count ({p.vertex_accelerator_count}) go together: both set (e.g. "
            "NVIDIA_TESLA_T4 and 1) or neither")


def worker_pool_specs(config: SicotConfig) -> list[dict[str, Any]]:
    """The CustomJob's worker pools: the chief, then the workers, then the parameter
    servers (Vertex's order, which its TF_CONFIG follows). TFX sets each pool's command
    (tfx.scripts.run_executor with the Trainer's executor)."""
    check_cluster(config)
    p = config.pipeline
    machine = {"machine_type": p.vertex_machine_type}
    if p.vertex_accelerator_count:
        machine.update(accelerator_type=p.vertex_accelerator_type, accelerator_count=p.vertex_accelerator_count)

    def pool(replicas: int, machine_spec: dict[str, Any]) -> dict[str, Any]:
        return {"machine_spec": dict(machine_spec), "replica_count": replicas,
                "container_spec": {"image_uri": p.kubeflow_image}}

    pools = [pool(1, machine)]
    if p.vertex_workers:
        pools.append(pool(p.vertex_workers, machine))
    if p.vertex_parameter_servers:
        pools.append(pool(p.vertex_parameter_servers, {"machine_type": p.vertex_machine_type}))
    return pools


def vertex_custom_config(config: SicotConfig) -> dict[str, Any]:
    """TFX's Vertex trainer keys for the Trainer's custom_config ({} when the Trainer
    trains in its own step)."""
    if not on_vertex(config):
        return {}
    p = config.pipeline
    return {
        TRAINING_ARGS_KEY: {"project": p.vertex_project, "job_spec": {"worker_pool_specs": worker_pool_specs(config)}},
        ENABLE_VERTEX_KEY: True,
        VERTEX_REGION_KEY: p.vertex_region,
    }


def describe(config: SicotConfig) -> str:
    if not on_vertex(config):
        return ""
    p = config.pipeline
    gpus = f", {p.vertex_accelerator_count} x {p.vertex_accelerator_type}" if p.vertex_accelerator_count else ""
    return (f"Trainer: a Vertex AI CustomJob in {p.vertex_project} ({p.vertex_region}): 1 chief, "
            f"{p.vertex_workers} worker(s), {p.vertex_parameter_servers} parameter server(s); "
            f"{p.vertex_machine_type}{gpus}; distribute.strategy {config.distribute.strategy}")
