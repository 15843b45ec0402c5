"""The Vertex AI CustomJob of a Trainer cluster: its worker pools, TFX's keys, and the
clusters the configured strategy cannot use."""

import pytest

from sicot.config import ConfigError, load_config
from tfx_pipeline.vertex_training import vertex_custom_config, worker_pool_specs

VERTEX = ["pipeline.trainer_cluster=vertex", "pipeline.vertex_project=my-project",
          "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2"]


def config(*settings):
    return load_config(None, [*VERTEX, *settings])


def test_by_default_the_trainer_trains_in_its_own_step():
    assert vertex_custom_config(load_config(None, [])) == {}


def test_a_parameter_server_cluster_is_a_chief_workers_and_parameter_servers():
    c = config("distribute.strategy=parameter_server", "pipeline.vertex_workers=3",
               "pipeline.vertex_parameter_servers=2", "pipeline.vertex_machine_type=n1-highmem-16",
               "pipeline.vertex_accelerator_type=NVIDIA_TESLA_T4", "pipeline.vertex_accelerator_count=2",
               "pipeline.vertex_region=europe-west4")
    chief, workers, servers = worker_pool_specs(c)
    gpu = {"machine_type": "n1-highmem-16", "accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 2}
    assert chief == {"machine_spec": gpu, "replica_count": 1,
                     "container_spec": {"image_uri": "registry.example/sicot-pipeline:1.2"}}
    assert workers["machine_spec"] == gpu and workers["replica_count"] == 3
    # The parameter servers hold variables; they get no accelerators.
    assert servers["machine_spec"] == {"machine_type": "n1-highmem-16"} and servers["replica_count"] == 2
    assert {p["container_spec"]["image_uri"] for p in (chief, workers, servers)} == {
        "registry.example/sicot-pipeline:1.2"}
    custom = vertex_custom_config(c)
    assert custom == {
        # TFX's Vertex trainer reads these keys (tfx.extensions.google_cloud_ai_platform).
        "ai_platform_training_args": {"project": "my-project",
                                      "job_spec": {"worker_pool_specs": [chief, workers, servers]}},
        "ai_platform_enable_vertex": True,
        "ai_platform_vertex_region": "europe-west4",
    }


def test_a_multi_worker_cluster_has_no_parameter_server_pool():
    pools = worker_pool_specs(config("distribute.strategy=multi_worker_mirrored", "pipeline.vertex_workers=2"))
    assert [p["replica_count"] for p in pools] == [1, 2]
    assert pools[0]["machine_spec"] == {"machine_type": "n1-standard-8"}


def test_without_a_strategy_the_job_is_the_chief_alone():
    assert [p["replica_count"] for p in worker_pool_specs(config())] == [1]


@pytest.mark.parametrize(
    "settings, message",
    [
        (["pipeline.vertex_project="], "needs pipeline.vertex_project"),
        (["pipeline.vertex_region="], "needs pipeline.vertex_region"),
        (["pipeline.vertex_workers=2"], "needs distribute.strategy multi_worker_mirrored or parameter_server"),
        (["distribute.strategy=mirrored", "pipeline.vertex_parameter_servers=1"],
         "needs distribute.strategy multi_worker_mirrored or parameter_server"),
        (["distribute.strategy=multi_worker_mirrored", "pipeline.vertex_workers=1",
          "pipeline.vertex_parameter_servers=1"], "multi_worker_mirrored has no parameter servers"),
        (["distribute.strategy=parameter_server", "pipeline.vertex_workers=2"],
         "needs at least one worker and one parameter server"),
        (["distribute.strategy=parameter_server", "pipeline.vertex_parameter_servers=2"],
         "needs at least one worker and one parameter server"),
        (["distribute.strategy=multi_worker_mirrored", "pipeline.vertex_workers=-1"], "must be 0 or more"),
        (["pipeline.vertex_accelerator_type=NVIDIA_TESLA_T4"], "go together"),
        (["pipeline.vertex_accelerator_count=1"], "go together"),
    ],
)
def test_a_cluster_the_strategy_cannot_use_is_refused_with_the_setting_to_change(settings, message):
    with pytest.raises(ConfigError, match=message):
        vertex_custom_config(config(*settings))


def test_the_checks_are_vertexs_only():
    # Workers set but no Vertex cluster: nothing to check, nothing added.
    assert vertex_custom_config(load_config(None, ["pipeline.vertex_workers=4"])) == {}
