"""What training/distribution.py decides in-process: the cluster task, the chief, and the
strategies that need no cluster. The clusters themselves run in subprocesses in
tests/distributed_training_test.py."""

import json

import pytest
import tensorflow as tf

from training.distribution import (
    STRATEGIES,
    cluster_task,
    is_chief,
    is_parameter_server,
    serve_cluster_task,
    strategy_from_config,
    task_path,
)
from sicot.config import load_config

CLUSTER = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"], "ps": ["127.0.0.1:4"]}
NO_CHIEF = {"worker": ["127.0.0.1:2", "127.0.0.1:3"]}


def _tf_config(monkeypatch, cluster, task_type, index):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}))


def test_outside_a_cluster_the_process_is_task_none_and_the_chief(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_task() == (None, 0)
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", "")  # set but empty: still no cluster
    assert cluster_task() == (None, 0)
    assert is_chief()


def test_cluster_task_reads_type_and_index_from_tf_config(monkeypatch):
    _tf_config(monkeypatch, CLUSTER, "worker", 1)
    assert cluster_task() == ("worker", 1)
    _tf_config(monkeypatch, CLUSTER, "ps", "0")  # an index given as a string
    assert cluster_task() == ("ps", 0)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": CLUSTER, "task": {"type": "chief"}}))
    assert cluster_task() == ("chief", 0)


@pytest.mark.parametrize(
    "cluster, task_type, index, chief",
    [
        (CLUSTER, "chief", 0, True),
        (CLUSTER, "worker", 0, False),  # the chief writes the model, not worker 0
        (CLUSTER, "worker", 1, False),
        (CLUSTER, "ps", 0, False),
        (NO_CHIEF, "worker", 0, True),  # without a chief, worker 0 is it
        (NO_CHIEF, "worker", 1, False),
        ({**NO_CHIEF, "chief": []}, "worker", 0, True),  # an empty chief list is no chief
    ],
)
def test_only_one_task_of_a_cluster_is_the_chief(monkeypatch, cluster, task_type, index, chief):
    _tf_config(monkeypatch, cluster, task_type, index)
    assert is_chief() is chief


@pytest.mark.parametrize(
    "cluster, task_type, index, path",
    [
        (None, None, 0, "/b"),  # outside a cluster
        (CLUSTER, "chief", 0, "/b"),
        (CLUSTER, "worker", 0, "/b/worker_0"),
        (CLUSTER, "worker", 1, "/b/worker_1"),
        (NO_CHIEF, "worker", 0, "/b"),  # worker 0 is the chief of a cluster without one
        (NO_CHIEF, "worker", 1, "/b/worker_1"),
    ],
)
def test_each_task_but_the_chief_keeps_its_files_in_a_folder_of_its_own(monkeypatch, cluster, task_type,
                                                                         index, path):
    if cluster is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        _tf_config(monkeypatch, cluster, task_type, index)
    assert task_path("/b") == path


def test_strategy_none_is_the_default_single_replica_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = strategy_from_config(load_config(None, []))
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert not is_parameter_server(strategy)


def test_unknown_strategy_is_refused_with_the_known_ones():
    config = load_config(None, ["distribute.strategy=horovod"])
    with pytest.raises(ValueError) as error:
        strategy_from_config(config)
    assert str(error.value) == (
        "unknown distribute.strategy 'horovod' (known: none, mirrored, multi_worker_mirrored, parameter_server)"
    )
    assert STRATEGIES == ("none", "mirrored", "multi_worker_mirrored", "parameter_server")


@pytest.mark.parametrize("strategy", ["multi_worker_mirrored", "parameter_server"])
def test_cluster_strategies_need_tf_config(monkeypatch, strategy):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=f"^distribute.strategy={strategy} needs the cluster in the TF_CONFIG"):
        strategy_from_config(load_config(None, [f"distribute.strategy={strategy}"]))


@pytest.mark.parametrize(
    "strategy, task_type",
    [
        ("none", None),
        ("parameter_server", None),  # no TF_CONFIG
        ("parameter_server", "chief"),  # the chief trains, it does not serve
        ("multi_worker_mirrored", "worker"),  # workers of other strategies train too
        ("none", "ps"),
    ],
)
def test_only_parameter_server_workers_and_ps_serve(monkeypatch, strategy, task_type):
    if task_type is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        _tf_config(monkeypatch, CLUSTER, task_type, 0)
    # True would mean a server was started and joined (it never returns here).
    assert serve_cluster_task(load_config(None, [f"distribute.strategy={strategy}"])) is False


def test_mirrored_strategy_over_the_configured_device():
    config = load_config(None, ["distribute.strategy=mirrored", 'distribute.devices=["/cpu:0"]'])
    strategy = strategy_from_config(config)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 1
    assert [d.rsplit("/", 1)[-1] for d in strategy.extended.worker_devices] == ["device:CPU:0"]
    assert not is_parameter_server(strategy)
