"""VertexSicotTrainer: the SicotTrainer step that starts a Vertex AI CustomJob whose
replicas run SicotTrainerExecutor. The job is built by TFX's own client code and caught
before it would be sent (nothing reaches Google Cloud)."""

import json

import pytest
from tfx.extensions.google_cloud_ai_platform import constants, runner, training_clients
from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_trainer_executor
from tfx.proto import trainer_pb2

from components.sicot_trainer import SicotTrainer, SicotTrainerExecutor
from components.sicot_trainer_test import RUN_FN, artifacts, channels, exec_properties
from components.vertex_sicot_trainer import VertexSicotTrainer, VertexSicotTrainerExecutor
from models import custom_config as contract

IMAGE = "registry.example/sicot-pipeline:1.2"
POOLS = [
    {"machine_spec": {"machine_type": "n1-standard-8"}, "replica_count": 1, "container_spec": {"image_uri": IMAGE}},
    {"machine_spec": {"machine_type": "n1-standard-8"}, "replica_count": 2, "container_spec": {"image_uri": IMAGE}},
]
CUSTOM_CONFIG = {
    contract.SICOT_CONFIG: '{"distribute": {"strategy": "multi_worker_mirrored"}}',
    contract.CODE_VERSION: "v1",
    vertex_trainer_executor.TRAINING_ARGS_KEY: {"project": "my-project", "job_spec": {"worker_pool_specs": POOLS}},
    constants.ENABLE_VERTEX_KEY: True,
    constants.VERTEX_REGION_KEY: "europe-west4",
}


def test_the_component_is_the_sicot_trainer_with_the_vertex_executor():
    component = VertexSicotTrainer(
        run_fn=RUN_FN,
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["validation"]),
        custom_config=CUSTOM_CONFIG,
        **channels(True),
    )
    assert isinstance(component, SicotTrainer)
    assert component.EXECUTOR_SPEC.executor_class is VertexSicotTrainerExecutor
    assert set(component.outputs) == {"model", "model_run"}
    assert set(component.inputs) == {"examples", "transform_graph", "schema", "word_vectors"}


@pytest.fixture
def launched(monkeypatch):
    """What TFX would send to Vertex AI: the CustomJob, its project and region."""
    sent = {}
    monkeypatch.setattr(training_clients.VertexJobClient, "create_client", lambda self: None)
    monkeypatch.setattr(runner, "_launch_cloud_training", lambda **kwargs: sent.update(kwargs))
    return sent


def test_the_step_starts_a_custom_job_whose_every_replica_runs_the_sicot_executor(tmp_path, launched):
    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    VertexSicotTrainerExecutor().Do(inputs, outputs, exec_properties(CUSTOM_CONFIG))
    assert launched["project"] == "my-project"
    assert launched["enable_vertex"] and launched["vertex_region"] == "europe-west4"
    pools = launched["training_job"]["job_spec"]["worker_pool_specs"]
    assert [p["replica_count"] for p in pools] == [1, 2]
    for pool in pools:
        container = pool["container_spec"]
        assert container["image_uri"] == IMAGE
        command = container["command"]
        assert command[:3] == ["python", "-m", "tfx.scripts.run_executor"]
        flags = dict(zip(command[3::2], command[4::2]))
        assert flags["--executor_class_path"] == f"{SicotTrainerExecutor.__module__}.SicotTrainerExecutor"
        # The replica gets the step's artifacts (the word vectors too) and its run_fn and
        # sicot configuration.
        replica_inputs = json.loads(flags["--inputs"])
        assert set(replica_inputs) == {"examples", "transform_graph", "schema", "word_vectors"}
        assert str(tmp_path / "word_vectors" / "7") in flags["--inputs"]
        assert str(tmp_path / "model") in flags["--outputs"]
        props = json.loads(flags["--exec-properties"])
        assert props["run_fn"] == RUN_FN
        assert json.loads(props["custom_config"])[contract.SICOT_CONFIG] == CUSTOM_CONFIG[contract.SICOT_CONFIG]


def test_without_the_job_settings_the_step_fails_before_anything_is_sent(tmp_path, launched):
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    custom = {k: v for k, v in CUSTOM_CONFIG.items() if k != vertex_trainer_executor.TRAINING_ARGS_KEY}
    with pytest.raises(ValueError, match=vertex_trainer_executor.TRAINING_ARGS_KEY):
        VertexSicotTrainerExecutor().Do(inputs, outputs, exec_properties(custom))
    assert launched == {}
