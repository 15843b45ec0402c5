"""tf.distribute strategies against single-device training on the same data.

Every run is tests/training_job.py in fresh processes (TensorFlow fixes its logical
devices on first use, and a cluster needs one process per task): MirroredStrategy over
two logical CPUs, a sharded classifier over two logical CPUs, and real multi-process
clusters on 127.0.0.1 (TF_CONFIG) for MultiWorkerMirroredStrategy (chief + worker) and
ParameterServerStrategy (chief + worker + 2 parameter servers). Each must end with the
weights of the single-device run with the same settings, within float tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.loopback import free_ports

# Every test starts training processes (about 10 s each, more in a cluster).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "tests" / "training_job.py"
TIMEOUT_S = 240


def _env(tf_config: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _job(out: Path, settings, options=()) -> list[str]:
    return [sys.executable, str(JOB), str(out), *options, *[a for s in settings for a in ("--set", s)]]


def run_job(out: Path, *settings: str, logical_cpus: int = 0, options=()) -> dict:
    options = [*options, *(["--logical-cpus", str(logical_cpus)] if logical_cpus else [])]
    result = subprocess.run(_job(out, settings, options), env=_env(), capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "result.json").read_text())


def start_cluster(out: Path, tasks: dict[str, int], *settings: str, options=()) -> list:
    """One process per task on loopback ports, each logging to <out>-<task><index>.log:
    [(task type, Popen)]."""
    ports = iter(free_ports(sum(tasks.values())))
    cluster = {kind: [f"127.0.0.1:{next(ports)}" for _ in range(n)] for kind, n in tasks.items()}
    processes = []
    for kind, n in tasks.items():
        for index in range(n):
            log = open(out.parent / f"{out.name}-{kind}{index}.log", "a")
            processes.append(
                (kind, subprocess.Popen(
                    _job(out, settings, options),
                    env=_env({"cluster": cluster, "task": {"type": kind, "index": index}}),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ))
            )
    return processes


def stop_cluster(processes) -> None:
    for _, process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def run_cluster(out: Path, tasks: dict[str, int], *settings: str, options=()) -> dict:
    """Starts the cluster, waits for the chief, then ends every task."""
    processes = []
    try:
        processes = start_cluster(out, tasks, *settings, options=options)
        chief = next(p for kind, p in processes if kind == "chief")
        assert chief.wait(timeout=TIMEOUT_S) == 0, (out.parent / f"{out.name}-chief0.log").read_text()[-3000:]
        for kind, process in processes:
            if kind == "worker" and "multi_worker" in " ".join(settings):
                assert process.wait(timeout=60) == 0
    finally:
        stop_cluster(processes)
    return json.loads((out / "result.json").read_text())


def assert_same_weights(out: Path, reference: Path, atol: float = 1e-5) -> None:
    got, want = np.load(out / "weights.npz"), np.load(reference / "weights.npz")
    assert sorted(got.files) == sorted(want.files)
    for name in want.files:
        np.testing.assert_allclose(got[name], want[name], atol=atol, err_msg=name)
    assert any(np.abs(want[name]).sum() > 0 for name in want.files)


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    """Reference runs without a strategy: the Dense classifier and one in 2 shards."""
    root = tmp_path_factory.mktemp("single")
    run_job(root / "dense")
    run_job(root / "sharded", "model.classifier_shards=2", options=["--validation"])
    return root


def _initial_run_changed_weights(result: dict) -> None:
    assert result["iterations"] == 12 and result["epochs_logged"] == 2


def test_mirrored_over_two_devices_matches_one_device(single_device, tmp_path):
    result = run_job(
        tmp_path / "mirrored", "distribute.strategy=mirrored", 'distribute.devices=["/cpu:0","/cpu:1"]', logical_cpus=2
    )
    assert result["replicas"] == 2
    _initial_run_changed_weights(result)
    assert_same_weights(tmp_path / "mirrored", single_device / "dense")


def test_classifier_sharded_over_two_devices_matches_one_device(single_device, tmp_path):
    result = run_job(
        tmp_path / "placed",
        "model.classifier_shards=2",
        'model.classifier_devices=["/device:CPU:0","/device:CPU:1"]',
        logical_cpus=2,
    )
    assert [d.rsplit("/", 1)[-1] for d in result["kernel_devices"]] == ["device:CPU:0", "device:CPU:1"]
    assert_same_weights(tmp_path / "placed", single_device / "sharded")


def test_multi_worker_mirrored_cluster_matches_one_device(single_device, tmp_path):
    result = run_cluster(tmp_path / "mwms", {"chief": 1, "worker": 1}, "distribute.strategy=multi_worker_mirrored")
    assert result["replicas"] == 2
    _initial_run_changed_weights(result)
    assert_same_weights(tmp_path / "mwms", single_device / "dense")


def test_parameter_server_cluster_with_the_classifier_split_over_the_servers(single_device, tmp_path):
    """Also: the chief's loop (fit_on_parameter_servers) validates after each epoch, with
    the same val_ logs, epoch by epoch, as Keras' fit gives the same model on one device."""
    result = run_cluster(
        tmp_path / "ps",
        {"chief": 1, "worker": 1, "ps": 2},
        "distribute.strategy=parameter_server",
        "model.classifier_shards=2",
        options=["--validation"],
    )
    assert sorted(d.split("/device")[0] for d in result["kernel_devices"]) == ["/job:ps/replica:0/task:0",
                                                                            "/job:ps/replica:0/task:1"]
    assert_same_weights(tmp_path / "ps", single_device / "sharded")
    reference = json.loads((single_device / "sharded" / "result.json").read_text())["history"]
    want = {k: v for k, v in reference.items() if k.startswith("val_")}
    got = {k: v for k, v in result["history"].items() if k.startswith("val_")}
    assert {"val_loss", "val_top1", "val_top3"} <= set(want) and sorted(got) == sorted(want)
    for name, values in want.items():
        assert len(values) == 2
        np.testing.assert_allclose(got[name], values, atol=1e-5, err_msg=name)
    assert got["val_loss"][0] != got["val_loss"][1]  # each epoch's model, not the first one twice
    assert got["val_loss"] != result["history"]["loss"]  # the validation split, not the training logs
