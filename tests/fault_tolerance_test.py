"""Training survives SIGKILL: a killed run, restarted, ends where an uninterrupted run ends.

tests/training_job.py trains 12 steps (2 epochs of 6) with a backup every 2 steps; the
first attempt is killed with SIGKILL once a mid-epoch backup exists, the same command
is run again, and it must finish at step 12 with the weights of a run that was never
interrupted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.distributed_training_test import JOB, _env, assert_same_weights, run_job

pytestmark = pytest.mark.slow  # two training processes, about 35 s

SETTINGS = ("train.checkpoint_every_steps=2",)


def _backed_up_step(out: Path) -> int:
    try:
        return json.loads((out / "backup" / "latest.json").read_text())["step"]
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
