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


@pytest.mark.parametrize(
    "strategy, replicas",
    [("multi_worker_mirrored", {"Chief": 1, "Worker": 1}), ("parameter_server", {"Chief": 1, "Worker": 1, "PS": 1})],
)
def test_the_trainer_as_a_tfjob_trains_in_a_cluster_and_the_chief_writes_a_working_model(
        tiny_run_dir, tmp_path, monkeypatch, strategy, replicas):
    inputs, properties = recorded_trainer_step(tiny_run_dir)
    assert {"examples", "transform_graph", "schema", "word_vectors"} <= set(inputs)
    custom = json_utils.loads(properties["custom_config"])
    sicot = json.loads(custom[contract.SICOT_CONFIG])
    sicot.setdefault("distribute", {})["strategy"] = strategy
    sicot.setdefault("train", {})["verbose"] = 2
    custom[contract.SICOT_CONFIG] = json.dumps(sicot)
    replica = {"restartPolicy": "OnFailure",
               "template": {"spec": {"containers": [{"name": "tensorflow", "image": "sicot-pipeline:test"}]}}}
    custom[TFJOB_KEY] = {"poll_seconds": 0.2, "manifest": {
        "apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"namespace": "team-a"},
        "spec": {"tfReplicaSpecs": {kind: {"replicas": n, **replica} for kind, n in replicas.items()},
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
    # One cluster: the chief trained every epoch, and under multi_worker_mirrored the
    # worker did too (under parameter_server it served the chief's steps).
    cluster = {"multi_worker_mirrored": "MultiWorkerMirroredStrategy with cluster_spec",
               "parameter_server": "`tf.distribute.experimental.ParameterServerStrategy` is initialized"}[strategy]
    assert cluster in chief_log and "Epoch 4/4" in chief_log, chief_log[-3000:]
    if strategy == "multi_worker_mirrored":
        assert "num_workers = 2" in chief_log and "Epoch 4/4" in worker_log, worker_log[-3000:]
    assert "Traceback" not in chief_log + worker_log
    # The chief logs every epoch to the ModelRun (the other replicas log elsewhere),
    # with the validation split's metrics under either strategy.
    rows = (Path(model_run.uri) / "training_log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    assert {"val_loss", "val_top1"} <= set(rows[0].split(",")), rows[0]
    serving = tf.saved_model.load(str(tmp_path / "model" / "Format-Serving"))
    images = tf.constant([png_bytes(COLOURS[c], size=(30, 17)) for c in ("red", "green", "blue")])
    out = serving.signatures["serving_default"](images=images)
    labels = out["labels"].numpy().astype(str)
    assert labels.shape == (3, 3) and np.all(np.diff(out["scores"].numpy(), axis=1) <= 1e-7)
    # The same easy classes the pipeline's own model learns (tests/pipeline_e2e_test.py).
    assert labels[:, 0].tolist() == ["red", "green", "blue"], labels
