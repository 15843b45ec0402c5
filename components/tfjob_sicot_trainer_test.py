"""TFJobSicotTrainer: the SicotTrainer step that creates a Kubeflow TFJob whose replicas
run SicotTrainerExecutor. The job goes to a fake API server with the training operator
(tests/fake_training_operator.py), whose replicas are local processes: each runs the
real ``tfx.scripts.run_executor`` command the step built, with the TF_CONFIG the
operator gives it, and a recording run_fn (below) in place of models.trainer.run_fn."""

import json
import os
from pathlib import Path

import pytest
from tfx.proto import trainer_pb2

from components import tfjob
from components.sicot_trainer import SicotTrainer
from components.sicot_trainer_test import artifacts, channels, exec_properties
from components.tfjob_sicot_trainer import (
    TFJOB_KEY,
    TFJobSicotTrainer,
    TFJobSicotTrainerExecutor,
    job_name,
    replica_command,
    tfjob_manifest,
)
from models import custom_config as contract
from tests.fake_training_operator import FakeTrainingOperator

ROOT = Path(__file__).resolve().parent.parent
RUN_FN = f"{__name__}.replica_run_fn"
RECORDS = "test_records_dir"


def replica_run_fn(fn_args):
    """Records, per replica, what run_fn got; the chief writes the model folder."""
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    record = {"task": task, "custom_config": fn_args.custom_config, "train_files": fn_args.train_files,
              "serving_model_dir": fn_args.serving_model_dir}
    Path(fn_args.custom_config[RECORDS], f"{task['type']}-{task['index']}.json").write_text(json.dumps(record))
    if task["type"] == "chief" and not fn_args.custom_config.get("chief_writes_no_model"):
        os.makedirs(fn_args.serving_model_dir)


def template(namespace: str = "team-a", **replicas: int) -> dict:
    def replica(n):
        return {"replicas": n, "restartPolicy": "OnFailure",
                "template": {"spec": {"containers": [{"name": "tensorflow", "image": "sicot-pipeline:1"}]}}}

    return {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"namespace": namespace, "labels": {}},
            "spec": {"tfReplicaSpecs": {kind: replica(n) for kind, n in replicas.items()},
                     "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 3}}}


@pytest.fixture
def operator(tmp_path, monkeypatch):
    fake = FakeTrainingOperator(tmp_path / "pods", env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
                                                        "CUDA_VISIBLE_DEVICES": ""})
    monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield fake
    fake.stop()


def test_the_component_is_the_sicot_trainer_with_the_tfjob_executor():
    component = TFJobSicotTrainer(run_fn=RUN_FN, train_args=trainer_pb2.TrainArgs(splits=["train"]),
                                  eval_args=trainer_pb2.EvalArgs(splits=["validation"]),
                                  custom_config={TFJOB_KEY: {"manifest": template(Chief=1), "poll_seconds": 1}},
                                  **channels(True))
    assert isinstance(component, SicotTrainer)
    assert component.EXECUTOR_SPEC.executor_class is TFJobSicotTrainerExecutor
    assert set(component.outputs) == {"model", "model_run"}
    assert set(component.inputs) == {"examples", "transform_graph", "schema", "word_vectors"}


def test_the_job_is_named_after_the_model_artifact_with_a_kubernetes_name():
    a, b = job_name("gs://bucket/pipeline/SicotTrainer/model/7"), job_name("gs://bucket/pipeline/SicotTrainer/model/8")
    assert a == job_name("gs://bucket/pipeline/SicotTrainer/model/7") and a != b
    # A DNS label, short enough for the pods' names (<job>-worker-<i>) to stay one too.
    assert a.startswith("sicot-trainer-") and len(a) <= 40 and a.replace("-", "").isalnum() and a == a.lower()


def test_the_manifest_is_the_template_with_the_name_namespace_and_every_replicas_command():
    t = template("", Chief=1, Worker=2, PS=1)
    manifest = tfjob_manifest(t, "sicot-trainer-abc", "team-b", ["python", "-m", "x"])
    assert manifest["metadata"]["name"] == "sicot-trainer-abc" and manifest["metadata"]["namespace"] == "team-b"
    assert [c["command"] for r in manifest["spec"]["tfReplicaSpecs"].values()
            for c in r["template"]["spec"]["containers"]] == [["python", "-m", "x"]] * 3
    assert "command" not in t["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]["containers"][0]  # untouched


def step_properties(records: Path, replicas: dict, **extra) -> dict:
    custom = {contract.SICOT_CONFIG: '{"distribute": {"strategy": "parameter_server"}}', contract.CODE_VERSION: "v1",
              RECORDS: str(records), **extra, TFJOB_KEY: {"manifest": template(**replicas), "poll_seconds": 0.1}}
    return {**exec_properties(custom), "run_fn": RUN_FN}


@pytest.mark.slow  # four processes that start TFX
def test_every_replica_runs_the_sicot_executor_with_the_steps_artifacts_and_the_chief_writes_the_model(
        tmp_path, operator):
    records = tmp_path / "records"
    records.mkdir()
    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    TFJobSicotTrainerExecutor().Do(inputs, outputs, step_properties(records, {"Chief": 1, "Worker": 2, "PS": 1}))
    (sent,) = operator.created
    name = job_name(outputs["model"][0].uri)
    assert sent["metadata"]["name"] == name and sent["metadata"]["namespace"] == "team-a"
    command = sent["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]["containers"][0]["command"]
    assert command[:5] == ["python", "-m", "tfx.scripts.run_executor", "--executor_class_path",
                           "components.sicot_trainer.SicotTrainerExecutor"]
    # Every replica ran run_fn through SicotTrainerExecutor, with its own task.
    seen = {p.stem: json.loads(p.read_text()) for p in records.glob("*.json")}
    assert set(seen) == {"chief-0", "worker-0", "worker-1", "ps-0"}
    for record in seen.values():
        custom = record["custom_config"]
        # The replicas get the step's configuration and the word vectors' URI (added by
        # SicotTrainerExecutor), not the job they run in.
        assert TFJOB_KEY not in custom
        assert custom[contract.SICOT_CONFIG] == '{"distribute": {"strategy": "parameter_server"}}'
        assert contract.word_vectors_uri(custom) == str(tmp_path / "word_vectors" / "7")
        assert record["train_files"] == [str(tmp_path / "examples" / "Split-train" / "*")]
        assert record["serving_model_dir"].startswith(str(tmp_path / "model"))
    assert os.path.isdir(seen["chief-0"]["serving_model_dir"])


@pytest.mark.slow
def test_a_chief_that_writes_no_model_fails_the_job_and_the_step(tmp_path, operator):
    records = tmp_path / "records"
    records.mkdir()
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    props = step_properties(records, {"Chief": 1}, chief_writes_no_model=True)
    with pytest.raises(tfjob.TFJobFailed, match="has failed because 1 Chief replica"):
        TFJobSicotTrainerExecutor().Do(inputs, outputs, props)
    name = job_name(outputs["model"][0].uri)
    # The chief's own log says why (SicotTrainerExecutor's model check).
    assert "failed to generate model" in (tmp_path / "pods" / name / "chief-0.log").read_text()


def test_without_the_job_the_step_fails_before_anything_is_sent(tmp_path, operator):
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    with pytest.raises(ValueError, match=f"'{TFJOB_KEY}' is not in the Trainer's custom_config"):
        TFJobSicotTrainerExecutor().Do(inputs, outputs, {**exec_properties({"x": 1}), "run_fn": RUN_FN})
    assert operator.requests == []


def test_without_a_namespace_outside_a_pod_the_step_says_which_setting_to_set(tmp_path, operator, monkeypatch):
    monkeypatch.setattr(tfjob, "SERVICE_ACCOUNT_NAMESPACE", str(tmp_path / "no-such-file"))
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    custom = {TFJOB_KEY: {"manifest": template("", Chief=1), "poll_seconds": 0.1}}
    with pytest.raises(ValueError, match="set pipeline.tfjob_namespace"):
        TFJobSicotTrainerExecutor().Do(inputs, outputs, {**exec_properties(custom), "run_fn": RUN_FN})
    assert operator.requests == []


def test_the_replica_command_round_trips_through_run_executors_own_parser(tmp_path):
    """The command's JSON is what tfx.scripts.run_executor reads back (artifacts with
    their URIs, the properties as given)."""
    from tfx.types import artifact_utils

    inputs, outputs = artifacts(tmp_path, with_vectors=True)
    props = exec_properties({"a": 1})
    command = replica_command(inputs, outputs, props)
    args = dict(zip(command[3::2], command[4::2]))
    assert set(args) == {"--executor_class_path", "--inputs", "--outputs", "--exec-properties"}
    back = artifact_utils.parse_artifact_dict(args["--inputs"])
    assert back["word_vectors"][0].uri == str(tmp_path / "word_vectors" / "7")
    assert artifact_utils.parse_artifact_dict(args["--outputs"])["model"][0].uri == str(tmp_path / "model")
    assert json.loads(args["--exec-properties"]) == props
    assert command[:3] == ["python", "-m", "tfx.scripts.run_executor"]  # the image's python


def test_a_job_taken_over_that_succeeded_without_a_model_fails_the_step(tmp_path, operator):
    """The step checks the model itself: a restarted step may take over a job that
    finished without writing one (here, a chief that did nothing)."""
    inputs, outputs = artifacts(tmp_path, with_vectors=False)
    name = job_name(outputs["model"][0].uri)
    finished = tfjob_manifest(template(Chief=1), name, "team-a", ["python", "-c", "pass"])
    api = tfjob.custom_objects_api()
    tfjob.submit(api, finished, log=lambda line: None)
    tfjob.wait(api, "team-a", name, poll_seconds=0.05, log=lambda line: None)
    props = {**exec_properties({TFJOB_KEY: {"manifest": template(Chief=1), "poll_seconds": 0.05}}), "run_fn": RUN_FN}
    with pytest.raises(RuntimeError, match=f"TFJob team-a/{name} succeeded but its chief wrote no model at "):
        TFJobSicotTrainerExecutor().Do(inputs, outputs, props)
    assert len(operator.created) == 1  # taken over, not started again
