"""The Kubeflow TFJob of a Trainer cluster: its replicas, resources, volume and run
policy, and the clusters and settings it refuses."""

import pytest

from components.tfjob_sicot_trainer import TFJOB_KEY
from sicot.config import ConfigError, load_config
from tfx_pipeline.tfjob_training import describe, tfjob_custom_config, tfjob_template

TFJOB = ["pipeline.trainer_cluster=tfjob", "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2"]


def config(*settings):
    return load_config(None, [*TFJOB, *settings])


def containers(job):
    return {kind: r["template"]["spec"]["containers"][0] for kind, r in job["spec"]["tfReplicaSpecs"].items()}


def test_by_default_the_trainer_trains_in_its_own_step():
    assert tfjob_custom_config(load_config(None, [])) == {}
    assert describe(load_config(None, [])) == ""


def test_a_parameter_server_cluster_is_a_chief_workers_and_parameter_servers_without_gpus():
    c = config("distribute.strategy=parameter_server", "pipeline.tfjob_workers=3",
               "pipeline.tfjob_parameter_servers=2", "pipeline.tfjob_cpu=8", "pipeline.tfjob_memory=32Gi",
               "pipeline.tfjob_gpus=2", "pipeline.tfjob_namespace=team-a", "pipeline.tfjob_backoff_limit=5")
    job = tfjob_template(c)
    assert job["apiVersion"] == "kubeflow.org/v1" and job["kind"] == "TFJob"
    assert job["metadata"]["namespace"] == "team-a" and "name" not in job["metadata"]
    specs = job["spec"]["tfReplicaSpecs"]
    assert {k: r["replicas"] for k, r in specs.items()} == {"Chief": 1, "Worker": 3, "PS": 2}
    assert {r["restartPolicy"] for r in specs.values()} == {"OnFailure"}
    # When the chief is done the operator removes the parameter servers (they never exit).
    assert job["spec"]["runPolicy"] == {"cleanPodPolicy": "Running", "backoffLimit": 5}
    c_ = containers(job)
    assert {x["name"] for x in c_.values()} == {"tensorflow"}  # the container the operator looks for
    assert {x["image"] for x in c_.values()} == {"registry.example/sicot-pipeline:1.2"}
    gpu = {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2}
    assert c_["Chief"]["resources"] == {"requests": {"cpu": "8", "memory": "32Gi"}, "limits": gpu}
    assert c_["Worker"]["resources"]["limits"] == gpu
    assert c_["PS"]["resources"]["limits"] == {"cpu": "8", "memory": "32Gi"}
    assert all("command" not in x for x in c_.values())  # the step sets it
    assert tfjob_custom_config(c) == {TFJOB_KEY: {"manifest": job, "poll_seconds": 30.0}}


def test_a_volume_claim_and_a_service_account_go_to_every_replica():
    job = tfjob_template(config("distribute.strategy=multi_worker_mirrored", "pipeline.tfjob_workers=1",
                                "pipeline.tfjob_volume_claim=sicot-data", "pipeline.tfjob_volume_mount_path=/mnt/sicot",
                                "pipeline.tfjob_service_account=sicot-trainer"))
    for replica in job["spec"]["tfReplicaSpecs"].values():
        pod = replica["template"]["spec"]
        assert pod["serviceAccountName"] == "sicot-trainer"
        assert pod["volumes"] == [{"name": "pipeline-root", "persistentVolumeClaim": {"claimName": "sicot-data"}}]
        assert pod["containers"][0]["volumeMounts"] == [{"name": "pipeline-root", "mountPath": "/mnt/sicot"}]


def test_without_a_strategy_the_job_is_the_chief_alone_in_the_steps_namespace():
    c = config()
    job = tfjob_template(c)
    assert list(job["spec"]["tfReplicaSpecs"]) == ["Chief"]
    assert job["metadata"]["namespace"] == ""  # the step's own (components/tfjob.py: own_namespace)
    pod = job["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]
    assert "serviceAccountName" not in pod and "volumes" not in pod
    assert describe(c) == ("Trainer: a Kubeflow TFJob in the step's own namespace: 1 chief, 0 worker(s), "
                           "0 parameter server(s); 4 CPU, 16Gi; distribute.strategy none")


@pytest.mark.parametrize(
    "settings, message",
    [
        (["pipeline.tfjob_workers=2"], "a TFJob cluster with 2 worker.*needs distribute.strategy"),
        (["distribute.strategy=multi_worker_mirrored", "pipeline.tfjob_parameter_servers=1"],
         "set pipeline.tfjob_parameter_servers=0"),
        (["distribute.strategy=parameter_server", "pipeline.tfjob_workers=1"],
         r"needs at least one worker and one parameter server \(pipeline.tfjob_workers=1"),
        (["distribute.strategy=multi_worker_mirrored", "pipeline.tfjob_workers=-1"], "must be 0 or more"),
        (["pipeline.tfjob_gpus=-1"], "pipeline.tfjob_gpus"),
        (["pipeline.tfjob_memory="], "neither may be empty"),
        (["pipeline.tfjob_volume_claim=sicot-data"], "go together"),
        (["pipeline.tfjob_volume_mount_path=/mnt"], "go together"),
        (["pipeline.tfjob_backoff_limit=-1"], "backoff_limit"),
        (["pipeline.tfjob_poll_seconds=0"], "poll_seconds"),
    ],
)
def test_a_cluster_or_setting_the_job_cannot_use_is_refused_with_the_setting_to_change(settings, message):
    with pytest.raises(ConfigError, match=message):
        tfjob_custom_config(config(*settings))


def test_the_checks_are_the_tfjobs_only():
    assert tfjob_custom_config(load_config(None, ["pipeline.tfjob_workers=4", "pipeline.tfjob_gpus=-1"])) == {}
