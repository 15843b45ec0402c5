"""Training survives SIGKILL: a killed run, restarted, ends where an uninterrupted run ends.

tests/training_job.py trains 12 steps (2 epochs of 6) with a backup every 2 steps; the
first attempt is killed with SIGKILL once a mid-epoch backup exists, the same command
is run again, and it must finish at step 12 with the weights of a run that was never
interrupted. The same for a whole parameter-server or multi-worker cluster, killed
while its chief waits at the end of epoch 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.distributed_training_test import JOB, _env, assert_same_weights, run_cluster, run_job, start_cluster, stop_cluster

pytestmark = pytest.mark.slow  # training processes and clusters, about 35 s to 1 min a test

SETTINGS = ("train.checkpoint_every_steps=2",)


def _backed_up_step(out: Path, task: str = "") -> int:
    try:
        return json.loads((out / "backup" / task / "latest.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_sigkilled_training_resumes_to_the_same_step_and_model(tmp_path):
    reference = run_job(tmp_path / "uninterrupted", *SETTINGS)
    out = tmp_path / "killed"
    command = [sys.executable, str(JOB), str(out), "--step-delay", "0.4",
               *[a for s in SETTINGS for a in ("--set", s)]]
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while _backed_up_step(out) < 4:  # past a mid-epoch backup (epochs are 6 steps)
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no backup appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    killed_at = _backed_up_step(out)
    assert 4 <= killed_at < 12 and not (out / "result.json").exists()

    resumed = run_job(out, *SETTINGS)
    assert resumed["iterations"] == reference["iterations"] == 12
    assert not (out / "backup").exists()  # removed once training finished
    assert_same_weights(out, tmp_path / "uninterrupted", atol=1e-5)


@pytest.mark.parametrize("strategy, tasks, resume_at", [
    ("parameter_server", {"chief": 1, "worker": 1, "ps": 1}, 6),
    ("multi_worker_mirrored", {"chief": 1, "worker": 1}, 4),
])
def test_a_killed_cluster_resumes_from_its_backups(tmp_path, strategy, tasks, resume_at):
    """A cluster killed while its chief waits at the end of epoch 1, started again with
    the same settings, goes on from the backups and ends at step 12 with the weights of
    an uninterrupted single-device run. parameter_server: the chief's backups, written by
    its own loop since the steps run on the workers. multi_worker_mirrored: each task's
    own; the worker's last backup is set back to the step before, as a kill between the
    two tasks' writes would leave it, and both tasks resume at that step."""
    reference = run_job(tmp_path / "uninterrupted", *SETTINGS)
    settings = (*SETTINGS, f"distribute.strategy={strategy}")
    backups = ["", "worker_0"] if strategy == "multi_worker_mirrored" else [""]
    out = tmp_path / "killed"
    processes = start_cluster(out, tasks, *settings, options=["--epoch-delay", "60"])
    try:
        chief = next(p for kind, p in processes if kind == "chief")
        deadline = time.monotonic() + 180
        # Epoch 1's last backup, by every task that trains; the next comes after the delay.
        while min(_backed_up_step(out, task) for task in backups) < 6:
            assert chief.poll() is None, (tmp_path / "killed-chief0.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no backup appeared"
            time.sleep(0.05)
    finally:
        stop_cluster(processes)
    assert [_backed_up_step(out, task) for task in backups] == [6] * len(backups)
    assert not (out / "result.json").exists()
    if resume_at < 6:
        latest = out / "backup" / "worker_0" / "latest.json"
        latest.write_text(json.dumps(json.loads(latest.read_text())["previous"]))

    resumed = run_cluster(out, tasks, *settings)
    assert resumed["iterations"] == reference["iterations"] == 12
    assert not (out / "backup").exists()
    chief_log = (tmp_path / "killed-chief0.log").read_text()
    assert f"resuming training at step {resume_at}" in chief_log
    if resume_at < 6:
        assert "this task backed up step 6, another task only step 4: every task resumes at 4" in chief_log
    assert_same_weights(out, tmp_path / "uninterrupted", atol=1e-5)
