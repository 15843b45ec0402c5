"""The pipeline's Trainer step when the training runs as a Kubeflow TFJob.

``TFJobSicotTrainer`` is ``SicotTrainer`` (same spec, inputs and outputs, so the
Evaluator and the Pusher read its model as ever) with an executor that creates a TFJob
(components/tfjob.py) whose every replica runs ``SicotTrainerExecutor`` through
``tfx.scripts.run_executor`` with the step's own artifacts and properties (the command
TFX's Vertex trainer gives a CustomJob's replicas), waits for it, and checks that the
chief wrote the model. The job comes, but for its name and command, from the Trainer's
custom_config under ``TFJOB_KEY`` (tfx_pipeline/tfjob_training.py); it is named after the
model artifact's URI, so a restarted step finds its own job (``tfjob.submit``). The
replicas get the custom_config without that key. The pipeline gives the step the id
``SicotTrainer``, so that its outputs keep the same place in the pipeline root.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_executor, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import json_utils, name_utils, path_utils

from components import tfjob
from components.sicot_trainer import SicotTrainer, SicotTrainerExecutor

TFJOB_KEY = "sicot_tfjob"
REPLICA_COMMAND = ["python", "-m", "tfx.scripts.run_executor"]


def job_name(model_uri: str) -> str:
    """A Kubernetes name (and a prefix of the pods' and services' names) unique to the
    step's model artifact."""
    return "sicot-trainer-" + hashlib.sha256(model_uri.encode()).hexdigest()[:12]


def replica_command(input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
                    exec_properties: dict[str, Any]) -> list[str]:
    return [*REPLICA_COMMAND,
            "--executor_class_path", name_utils.get_full_name(SicotTrainerExecutor),
            "--inputs", artifact_utils.jsonify_artifact_dict(input_dict),
            "--outputs", artifact_utils.jsonify_artifact_dict(output_dict),
            "--exec-properties", json.dumps(exec_properties, sort_keys=True)]


def tfjob_manifest(template: dict[str, Any], name: str, namespace: str, command: list[str]) -> dict[str, Any]:
    """The template with its name, namespace and every replica's command."""
    manifest = copy.deepcopy(template)
    manifest["metadata"].update(name=name, namespace=namespace)
    for replica in manifest["spec"]["tfReplicaSpecs"].values():
        for container in replica["template"]["spec"]["containers"]:
            container["command"] = list(command)
    return manifest


class TFJobSicotTrainerExecutor(base_executor.BaseExecutor):
    """Creates the TFJob and waits for it; each replica runs SicotTrainerExecutor."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        custom = json_utils.loads(exec_properties.get("custom_config") or "null") or {}
        job = custom.pop(TFJOB_KEY, None)
        if not job:
            raise ValueError(f"'{TFJOB_KEY}' is not in the Trainer's custom_config: the TFJob Trainer step needs "
                             "the job it starts (tfx_pipeline/tfjob_training.py)")
        replica_properties = {**exec_properties, "custom_config": json_utils.dumps(custom)}
        model = artifact_utils.get_single_instance(output_dict["model"])
        name = job_name(model.uri)
        namespace = job["manifest"]["metadata"].get("namespace") or tfjob.own_namespace()
        manifest = tfjob_manifest(job["manifest"], name, namespace,
                                  replica_command(input_dict, output_dict, replica_properties))
        api = tfjob.custom_objects_api()
        tfjob.submit(api, manifest, log=logging.info)
        tfjob.wait(api, namespace, name, float(job["poll_seconds"]), log=logging.info)
        serving = path_utils.serving_model_dir(model.uri)
        if not fileio.exists(serving):
            raise RuntimeError(f"TFJob {namespace}/{name} succeeded but its chief wrote no model at {serving}")
        logging.info("TFJob %s/%s: the model is at %s", namespace, name, serving)


class TFJobSicotTrainer(SicotTrainer):
    """SicotTrainer whose training runs as a Kubeflow TFJob."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TFJobSicotTrainerExecutor)
