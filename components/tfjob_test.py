"""Starting a TFJob and waiting for it, through the official Kubernetes client against a
fake API server with the training operator (tests/fake_training_operator.py), whose
replicas are local processes running the manifest's commands."""

import json
import time
from pathlib import Path

import pytest
import yaml

from components import tfjob
from tests.fake_training_operator import FakeTrainingOperator

NAMESPACE = "team-a"
RBAC = Path(__file__).resolve().parent.parent / "deploy" / "kubeflow" / "tfjob-trainer-rbac.yaml"
VERBS = {"POST": "create", "GET": "get", "DELETE": "delete"}


@pytest.fixture
def operator(tmp_path, monkeypatch):
    fake = FakeTrainingOperator(tmp_path / "pods")
    monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield fake
    fake.stop()


def replica(replicas: int, code: str) -> dict:
    return {"replicas": replicas, "restartPolicy": "OnFailure",
            "template": {"spec": {"containers": [{"name": "tensorflow", "image": "sicot-pipeline:1",
                                                  "command": ["python", "-c", code]}]}}}


def manifest(name: str, **replicas) -> dict:
    return {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"tfReplicaSpecs": replicas, "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 3}}}


# Each replica writes the TF_CONFIG the operator gave it into <dir>/<task>-<index>.json.
RECORD = ("import json, os, pathlib, sys, time; task = json.loads(os.environ['TF_CONFIG'])['task']; "
          "d = pathlib.Path({dir!r}); (d / f\"{{task['type']}}-{{task['index']}}.json\")"
          ".write_text(os.environ['TF_CONFIG']); ")
CHIEF = RECORD + "[time.sleep(0.05) for _ in range(400) if len(list(d.glob('*.json'))) < {n}]"
SERVER = RECORD + "time.sleep(120)"  # a parameter server serves until it is stopped


def test_the_job_runs_every_replica_with_its_tf_config_and_succeeds_when_the_chief_does(operator, tmp_path):
    d = str(tmp_path)
    job = manifest("j1", Chief=replica(1, CHIEF.format(dir=d, n=4)), Worker=replica(2, RECORD.format(dir=d)),
                   PS=replica(1, SERVER.format(dir=d)))
    api, lines = tfjob.custom_objects_api(), []
    created = tfjob.submit(api, job, log=lines.append)
    assert created["metadata"]["name"] == "j1" and tfjob.job_state(created) == "Created"
    started = time.monotonic()
    done = tfjob.wait(api, NAMESPACE, "j1", poll_seconds=0.05, log=lines.append, sleep=time.sleep)
    # The job ends with the chief, not with the parameter server (which would serve for 120 s).
    assert time.monotonic() - started < 60
    assert tfjob.job_state(done) == "Succeeded"
    assert operator.created == [job]  # sent as built
    configs = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(configs) == {"chief-0", "worker-0", "worker-1", "ps-0"}
    cluster = configs["chief-0"]["cluster"]
    assert [len(cluster[t]) for t in ("chief", "worker", "ps")] == [1, 2, 1]
    assert all(c["cluster"] == cluster for c in configs.values())
    assert configs["worker-1"]["task"] == {"type": "worker", "index": 1}
    assert lines[0] == f"TFJob {NAMESPACE}/j1 created"
    assert lines[-1].startswith(f"TFJob {NAMESPACE}/j1: Succeeded (Chief: 1 succeeded")
    assert any(": Running (" in line for line in lines)
    # One line per change of state, not one per read.
    assert len(lines) == len(set(lines)) < 12


def test_a_failed_replica_fails_the_step_with_the_operators_message_and_where_the_logs_are(operator):
    job = manifest("j2", Chief=replica(1, "import time; time.sleep(120)"), Worker=replica(1, "raise SystemExit(3)"))
    api = tfjob.custom_objects_api()
    tfjob.submit(api, job, log=lambda line: None)
    with pytest.raises(tfjob.TFJobFailed) as failed:
        tfjob.wait(api, NAMESPACE, "j2", poll_seconds=0.05, log=lambda line: None)
    message = str(failed.value)
    assert message.startswith(f"TFJob {NAMESPACE}/j2 failed: TFJob {NAMESPACE}/j2 has failed because 1 Worker")
    assert f"kubectl logs -n {NAMESPACE} -l training.kubeflow.org/job-name=j2" in message


def test_a_restarted_step_takes_over_its_running_job_instead_of_starting_a_second(operator, tmp_path):
    release = tmp_path / "release"
    chief = f"import pathlib, time; [time.sleep(0.05) for _ in range(2000) if not pathlib.Path({str(release)!r}).exists()]"
    job = manifest("j3", Chief=replica(1, chief))
    api, lines = tfjob.custom_objects_api(), []
    tfjob.submit(api, job, log=lines.append)
    tfjob.submit(api, job, log=lines.append)  # the step, restarted
    assert len(operator.created) == 1
    assert "exists already" in lines[1] and "takes it over" in lines[1]
    release.touch()
    assert tfjob.job_state(tfjob.wait(api, NAMESPACE, "j3", poll_seconds=0.05, log=lines.append)) == "Succeeded"


def test_a_restarted_step_whose_job_failed_deletes_it_and_starts_it_again(operator, tmp_path):
    marker = tmp_path / "second-try"
    # Fails the first time, succeeds the second.
    chief = (f"import pathlib, sys; m = pathlib.Path({str(marker)!r}); "
             "sys.exit(0) if m.exists() else (m.touch(), sys.exit(1))")
    job = manifest("j4", Chief=replica(1, chief))
    api, lines = tfjob.custom_objects_api(), []
    tfjob.submit(api, job, log=lines.append)
    with pytest.raises(tfjob.TFJobFailed):
        tfjob.wait(api, NAMESPACE, "j4", poll_seconds=0.05, log=lines.append)
    tfjob.submit(api, job, log=lines.append, poll_seconds=0.05)
    assert ("DELETE", f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/tfjobs/j4") in operator.requests
    assert len(operator.created) == 2
    assert any("exists and failed" in line and "deleted and started again" in line for line in lines)
    assert tfjob.job_state(tfjob.wait(api, NAMESPACE, "j4", poll_seconds=0.05, log=lines.append)) == "Succeeded"
    # Every request this flow made (all the client makes) is one the step's Role allows.
    role, binding = yaml.safe_load_all(RBAC.read_text())
    (rule,) = role["rules"]
    assert rule["apiGroups"] == ["kubeflow.org"] and rule["resources"] == ["tfjobs"]
    assert {VERBS[method] for method, _ in operator.requests} == set(rule["verbs"])
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_a_job_deleted_while_the_step_waits_fails_the_step(operator):
    api = tfjob.custom_objects_api()
    tfjob.submit(api, manifest("j5", Chief=replica(1, "import time; time.sleep(120)")), log=lambda line: None)
    sleeps = []

    def sleep_then_delete(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            api.delete_namespaced_custom_object(tfjob.GROUP, tfjob.VERSION, NAMESPACE, tfjob.PLURAL, "j5")

    with pytest.raises(tfjob.TFJobFailed, match=f"TFJob {NAMESPACE}/j5 was deleted before it finished"):
        tfjob.wait(api, NAMESPACE, "j5", poll_seconds=0.05, log=lambda line: None, sleep=sleep_then_delete)


def test_a_few_failed_reads_in_a_row_are_waited_out(operator):
    api, lines = tfjob.custom_objects_api(), []
    tfjob.submit(api, manifest("j6", Chief=replica(1, "pass")), log=lines.append)
    operator.fail_reads = tfjob.READ_FAILURES_TOLERATED
    assert tfjob.job_state(tfjob.wait(api, NAMESPACE, "j6", poll_seconds=0.05, log=lines.append)) == "Succeeded"
    assert sum("reading its state failed" in line for line in lines) == tfjob.READ_FAILURES_TOLERATED
    assert f"(1 of {tfjob.READ_FAILURES_TOLERATED} tolerated in a row)" in lines[1]


def test_more_failed_reads_in_a_row_than_tolerated_fail_the_step(operator):
    api = tfjob.custom_objects_api()
    tfjob.submit(api, manifest("j7", Chief=replica(1, "pass")), log=lambda line: None)
    operator.fail_reads = tfjob.READ_FAILURES_TOLERATED + 1
    with pytest.raises(tfjob.TFJobFailed, match=f"{tfjob.READ_FAILURES_TOLERATED + 1} reads of its state failed"):
        tfjob.wait(api, NAMESPACE, "j7", poll_seconds=0.01, log=lambda line: None)


def test_a_request_the_api_server_refuses_is_not_retried(operator):
    api = tfjob.custom_objects_api()
    bad = manifest("j8", Chief=replica(1, "pass"))
    bad["kind"] = "PyTorchJob"
    with pytest.raises(tfjob.ApiException) as refused:
        tfjob.submit(api, bad, log=lambda line: None)
    assert refused.value.status == 422
    assert operator.created == []


def test_the_namespace_of_the_pod_the_step_runs_in(tmp_path):
    path = tmp_path / "namespace"
    path.write_text("kubeflow-user-example-com\n")
    assert tfjob.own_namespace(str(path)) == "kubeflow-user-example-com"
    with pytest.raises(ValueError, match="set pipeline.tfjob_namespace"):
        tfjob.own_namespace(str(tmp_path / "missing"))


@pytest.mark.parametrize(
    "status, state",
    [
        ({}, "Pending"),
        ({"conditions": [{"type": "Created", "status": "True"}]}, "Created"),
        ({"conditions": [{"type": "Created", "status": "True"}, {"type": "Running", "status": "True"}]}, "Running"),
        # The operator turns Running to "False" when the job ends.
        ({"conditions": [{"type": "Created", "status": "True"}, {"type": "Running", "status": "False"},
                         {"type": "Succeeded", "status": "True"}]}, "Succeeded"),
        ({"conditions": [{"type": "Running", "status": "True"}, {"type": "Restarting", "status": "False"}]},
         "Running"),
    ],
)
def test_the_state_is_the_last_condition_that_holds(status, state):
    assert tfjob.job_state({"status": status}) == state


def test_the_replica_summary_names_each_type_with_its_counts():
    job = {"status": {"replicaStatuses": {"Worker": {"active": 1, "succeeded": 1}, "Chief": {"active": 1},
                                          "PS": {}}}}
    assert tfjob.replica_summary(job) == "Chief: 1 active; PS: none yet; Worker: 1 active, 1 succeeded"
    assert tfjob.replica_summary({}) == "no pods yet"

