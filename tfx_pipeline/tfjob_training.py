"""The Trainer as a Kubeflow TFJob: the cluster that a multi-worker or parameter-server
Trainer needs inside a Kubeflow pipeline, on the Kubernetes cluster the pipeline runs in
(no Vertex AI).

With ``pipeline.trainer_cluster: tfjob`` the pipeline's Trainer step
(components/tfjob_sicot_trainer.py) does not train in its own pod: it creates a TFJob
(the Kubeflow training operator's ``kubeflow.org/v1`` resource), each of whose replicas runs the Trainer's own executor (components/sicot_trainer.py,
the same ``run_fn``) in ``pipeline.kubeflow_image``, and waits for it. The operator
gives every replica's pod a TF_CONFIG with the cluster (``Chief`` -> ``chief``,
``Worker`` -> ``worker``, ``PS`` -> ``ps``), the cluster that ``distribute.strategy``
multi_worker_mirrored and parameter_server read (training/distribution.py). Only the
chief writes the model (models/trainer.py); the job succeeds when the chief does, and
the operator then removes the pods still running (``cleanPodPolicy: Running``: the
parameter servers, which serve until stopped).

What this module builds is the TFJob without its name and its replicas' command: the
step names the job after its model artifact and sets each replica's command to
``tfx.scripts.run_executor`` with its own artifacts (components/tfjob_sicot_trainer.py).

- ``check_cluster(config)``: refuses, with the setting to change, a cluster the
  configured strategy cannot use, and half-set settings.
- ``tfjob_template(config)``: the TFJob manifest (kind, replica specs, run policy).
- ``tfjob_custom_config(config)``: what the Trainer's custom_config carries besides
  the sicot configuration (models/custom_config.py).
- ``describe(config)``: one line for the console ('' unless the Trainer runs as a TFJob).

The step's own pod needs the right to create, read and delete TFJobs in the job's
namespace (deploy/kubeflow/tfjob-trainer-rbac.yaml).
"""

from __future__ import annotations

from typing import Any

from components.tfjob_sicot_trainer import TFJOB_KEY
from sicot.config import ConfigError, SicotConfig
from training.distribution import check_cluster_shape

# The container the training operator looks for in each replica (its default name).
CONTAINER = "tensorflow"
VOLUME = "pipeline-root"


def on_tfjob(config: SicotConfig) -> bool:
    """Whether the pipeline's Trainer runs as a TFJob (after check_cluster)."""
    check_cluster(config)
    return config.pipeline.trainer_cluster == "tfjob"


def check_cluster(config: SicotConfig) -> None:
    p = config.pipeline
    if p.trainer_cluster != "tfjob":
        return
    check_cluster_shape(config.distribute.strategy, p.tfjob_workers, p.tfjob_parameter_servers, cluster="TFJob",
                        workers_setting="pipeline.tfjob_workers",
                        servers_setting="pipeline.tfjob_parameter_servers")
    if p.tfjob_gpus < 0:
        raise ConfigError(f"pipeline.tfjob_gpus ({p.tfjob_gpus}) must be 0 or more")
    if not p.tfjob_cpu or not p.tfjob_memory:
        raise ConfigError("pipeline.tfjob_cpu and pipeline.tfjob_memory are every replica's resources "
                          "(Kubernetes quantities, e.g. 4 and 16Gi); neither may be empty")
    if bool(p.tfjob_volume_claim) != bool(p.tfjob_volume_mount_path):
        raise ConfigError(
            f"pipeline.tfjob_volume_claim ('{p.tfjob_volume_claim}') and pipeline.tfjob_volume_mount_path "
            f"('{p.tfjob_volume_mount_path}') go together: the PersistentVolumeClaim that holds the pipeline "
            "root and where every replica mounts it, both set or neither")
    if p.tfjob_backoff_limit < 0:
        raise ConfigError(f"pipeline.tfjob_backoff_limit ({p.tfjob_backoff_limit}) must be 0 or more")
    if p.tfjob_poll_seconds <= 0:
        raise ConfigError(f"pipeline.tfjob_poll_seconds ({p.tfjob_poll_seconds}) must be more than 0")


def _replica(config: SicotConfig, replicas: int, gpus: int) -> dict[str, Any]:
    p = config.pipeline
    resources = {"cpu": p.tfjob_cpu, "memory": p.tfjob_memory}
    limits = {**resources, **({"nvidia.com/gpu": gpus} if gpus else {})}
    container: dict[str, Any] = {"name": CONTAINER, "image": p.kubeflow_image,
                                 "resources": {"requests": resources, "limits": limits}}
    pod: dict[str, Any] = {"containers": [container]}
    if p.tfjob_service_account:
        pod["serviceAccountName"] = p.tfjob_service_account
    if p.tfjob_volume_claim:
        container["volumeMounts"] = [{"name": VOLUME, "mountPath": p.tfjob_volume_mount_path}]
        pod["volumes"] = [{"name": VOLUME, "persistentVolumeClaim": {"claimName": p.tfjob_volume_claim}}]
    # OnFailure: the operator restarts a failed replica (up to runPolicy.backoffLimit).
    return {"replicas": replicas, "restartPolicy": "OnFailure", "template": {"spec": pod}}


def tfjob_template(config: SicotConfig) -> dict[str, Any]:
    """The TFJob manifest, but for metadata.name and each container's command (the
    step's). metadata.namespace is '' when the job goes to the step's own namespace."""
    check_cluster(config)
    p = config.pipeline
    replicas = {"Chief": _replica(config, 1, p.tfjob_gpus)}
    if p.tfjob_workers:
        replicas["Worker"] = _replica(config, p.tfjob_workers, p.tfjob_gpus)
    if p.tfjob_parameter_servers:
        replicas["PS"] = _replica(config, p.tfjob_parameter_servers, 0)
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"namespace": p.tfjob_namespace, "labels": {"app.kubernetes.io/part-of": "sicot"}},
        "spec": {
            "tfReplicaSpecs": replicas,
            # Running: when the chief is done, remove the pods still running (the
            # parameter servers serve until stopped).
            "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": p.tfjob_backoff_limit},
        },
    }


def tfjob_custom_config(config: SicotConfig) -> dict[str, Any]:
    """The TFJob step's key for the Trainer's custom_config ({} when the Trainer does not
    run as a TFJob)."""
    if not on_tfjob(config):
        return {}
    return {TFJOB_KEY: {"manifest": tfjob_template(config), "poll_seconds": config.pipeline.tfjob_poll_seconds}}


def describe(config: SicotConfig) -> str:
    if not on_tfjob(config):
        return ""
    p = config.pipeline
    gpus = f", {p.tfjob_gpus} GPU(s) each on the chief and workers" if p.tfjob_gpus else ""
    namespace = p.tfjob_namespace or "the step's own namespace"
    return (f"Trainer: a Kubeflow TFJob in {namespace}: 1 chief, {p.tfjob_workers} worker(s), "
            f"{p.tfjob_parameter_servers} parameter server(s); {p.tfjob_cpu} CPU, {p.tfjob_memory}{gpus}; "
            f"distribute.strategy {config.distribute.strategy}")
