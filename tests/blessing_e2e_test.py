"""The Evaluator gates Pusher on the last blessed model (TFMA change threshold).

A second daily run in a copy of the tiny run's folder (same ML Metadata) trains a worse model (learning rate 0: it stays at its random start). The resolver
hands the Evaluator the first run's blessed model as baseline; the candidate's top-1
drops by more than eval.max_top1_drop, so it is not blessed and not pushed. The second
run also has the interval rule on (eval.blessing_interval_rule): its decision, read from
TFMA's intervals in the real evaluation, is written on the blessing beside TFMA's.
"""

import json
import shutil

import pytest

from conftest import tiny_catalogue_manifest, tiny_run_args
from cli.main import main

pytestmark = pytest.mark.slow


def test_a_worse_candidate_is_neither_blessed_nor_pushed(tiny_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run)
    first = json.loads((tiny_run_dir / "run_summary.json").read_text())
    assert first["blessed"] is True
    assert first["blessing_rule"] == "TFMA thresholds: passed"
    versions_before = sorted(p.name for p in (run / "serving" / "sicot").iterdir())

    args = tiny_run_args(tiny_catalogue_manifest(tiny_run_dir), run,
                         ["train.learning_rate=0.0", "eval.blessing_interval_rule=true"])
    assert main(args) == 0

    second = json.loads((run / "run_summary.json").read_text())
    assert second["blessed"] is False
    assert second["blessing_rule"].startswith(
        "TFMA thresholds: failed; interval rule (top1_accuracy on label_group=tail): candidate ")
    assert "95% lower bound" in second["blessing_rule"]
    assert second["pushed_dir"] is None
    assert sorted(p.name for p in (run / "serving" / "sicot").iterdir()) == versions_before
    assert second["metrics"]["top1_accuracy"] < first["metrics"]["top1_accuracy"] - 0.01

    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(str(run / "metadata.sqlite")))
    evaluations = sorted(
        (e for t in store.get_execution_types() if t.name.endswith(".Evaluator")
         for e in store.get_executions_by_type(t.name)), key=lambda e: e.id)
    events = [e for e in store.get_events_by_execution_ids([evaluations[-1].id]) if e.type == 3]  # INPUT
    baseline = [e.artifact_id for e in events if e.path.steps[0].key == "baseline_model"]
    candidate = [e.artifact_id for e in events if e.path.steps[0].key == "model"]
    assert len(baseline) == 1 and baseline != candidate
    (model,) = store.get_artifacts_by_id(baseline)
    assert first["model_dir"].startswith(model.uri)  # the first run's blessed model
