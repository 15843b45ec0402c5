"""The pipeline's Trainer step, run again as a Kubeflow TFJob: a chief and a worker
training the real run_fn with MultiWorkerMirroredStrategy.

The step's inputs and properties are the ones ML Metadata recorded for the Trainer of
the tiny pipeline run (conftest.py: tiny_run_dir), with distribute.strategy
multi_worker_mirrored; the job goes to the fake API server and training operator
(tests/fake_training_operator.py), whose replicas are local processes with the
operator's TF_CONFIG. What the chief writes must be a model that answers images as the
pipeline's own did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from tfx.orchestration import metadata
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import json_utils

from components.tfjob_sicot_trainer import TFJOB_KEY, TFJobSicotTrainerExecutor, job_name
from models import custom_config as contract
from tests.fake_training_operator import FakeTrainingOperator
from tests.tiny_catalogue import COLOURS, png_bytes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def recorded_trainer_step(run_dir: Path) -> tuple[dict, dict]:
    """The input artifacts and exec properties of the run's SicotTrainer execution."""
    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(str(run_dir / "metadata.sqlite")))
    (execution,) = [e for t in store.get_execution_types() if t.name.endswith(".SicotTrainer")
                    for e in store.get_executions_by_type(t.name)]
    properties = {k: v.string_value or v.int_value for k, v in execution.custom_properties.items()
                  if k in ("custom_config", "run_fn", "train_args", "eval_args")}
    inputs: dict[str, list] = {}
    events = [e for e in store.get_events_by_execution_ids([execution.id]) if e.type == e.INPUT]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    types = {t.id: t for t in store.get_artifact_types_by_id([a.type_id for a in artifacts.values()])}
    for event in events:
        mlmd_artifact = artifacts[event.artifact_id]
        artifact = artifact_utils.deserialize_artifact(types[mlmd_artifact.type_id], mlmd_artifact)
        inputs.setdefault(event.path.steps[0].key, []).append(artifact)
    return inputs, properties


def test_the_trainer_as_a_tfjob_trains_in_a_multi_worker_cluster_and_the_chief_writes_a_working_model(
        tiny_run_dir, tmp_path, monkeypatch):
    inputs, properties = recorded_trainer_step(tiny_run_dir)
    assert {"examples", "transform_graph", "schema", "word_vectors"} <= set(inputs)
    custom = json_utils.loads(properties["custom_config"])
    sicot = json.loads(custom[contract.SICOT_CONFIG])
    sicot.setdefault("distribute", {})["strategy"] = "multi_worker_mirrored"
    sicot.setdefault("train", {})["verbose"] = 2
    custom[contract.SICOT_CONFIG] = json.dumps(sicot)
    replica = {"restartPolicy": "OnFailure",
               "template": {"spec": {"containers": [{"name": "tensorflow", "image": "sicot-pipeline:test"}]}}}
    custom[TFJOB_KEY] = {"poll_seconds": 0.2, "manifest": {
        "apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"namespace": "team-a"},
        "spec": {"tfReplicaSpecs": {"Chief": {"replicas": 1, **replica}, "Worker": {"replicas": 1, **replica}},
                 "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 0}}}}
    properties["custom_config"] = json_utils.dumps(custom)
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, model_run.uri = str(tmp_path / "model"), str(tmp_path / "model_run")

    operator = FakeTrainingOperator(tmp_path / "pods", env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
                                                            "CUDA_VISIBLE_DEVICES": ""})
    monkeypatch.setenv("KUBECONFIG", str(operator.kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    try:
        TFJobSicotTrainerExecutor().Do(inputs, {"model": [model], "model_run": [model_run]}, properties)
    finally:
        operator.stop()
    pods = tmp_path / "pods" / job_name(model.uri)
    chief_log, worker_log = (pods / "chief-0.log").read_text(), (pods / "worker-0.log").read_text()
    # Both replicas trained, in one cluster of two.
    assert "MultiWorkerMirroredStrategy with cluster_spec" in chief_log and "num_workers = 2" in chief_log, \
        chief_log[-3000:]
    for log in (chief_log, worker_log):
        assert "Epoch 4/4" in log, log[-3000:]
    # Only the chief logs to the ModelRun.
    assert any(Path(model_run.uri).rglob("*")), "the chief wrote no logs to the ModelRun"
    serving = tf.saved_model.load(str(tmp_path / "model" / "Format-Serving"))
    images = tf.constant([png_bytes(COLOURS[c], size=(30, 17)) for c in ("red", "green", "blue")])
    out = serving.signatures["serving_default"](images=images)
    labels = out["labels"].numpy().astype(str)
    assert labels.shape == (3, 3) and np.all(np.diff(out["scores"].numpy(), axis=1) <= 1e-7)
    # The same easy classes the pipeline's own model learns (tests/pipeline_e2e_test.py).
    assert labels[:, 0].tolist() == ["red", "green", "blue"], labels
