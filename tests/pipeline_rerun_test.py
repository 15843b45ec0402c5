"""A pipeline rerun after a failure reuses the cached outputs, on the BeamDagRunner,
with a sharded, partial-FC classifier end to end.

The first `sicot run --runner beam` (pipeline.enable_cache on) fails inside the Trainer
(its backup folder is blocked by a file: a failure of the environment, not of the
settings); the blocker is removed and the same command is run again. ML Metadata must
show every component upstream of the Trainer as CACHED in the second run, and the
pushed model (classifier in 2 shards, trained with partial FC) must serve a top-k
merged from the shards that agrees with its full probabilities.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_run_args
from models import features
from tests.tiny_catalogue import COLOURS, png_bytes, write_catalogue

pytestmark = pytest.mark.slow

UPSTREAM = ("ManifestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "TitleWord2Vec")


def _executions_by_component(metadata_path) -> dict[str, list[int]]:
    """component id -> the states (metadata_store_pb2.Execution.State) of its executions, in order."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(metadata_path)
    store = metadata_store.MetadataStore(connection)
    states: dict[str, list[int]] = {}
    for context in store.get_contexts_by_type("node"):
        component = context.name.rsplit(".", 1)[-1]
        executions = sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)
        states[component] = [e.last_known_state for e in executions]
    return states


def test_rerun_after_a_trainer_failure_reuses_the_cached_components(tmp_path):
    from ml_metadata.proto import metadata_store_pb2

    from cli.main import main

    manifest = write_catalogue(tmp_path / "catalogue")
    blocker = tmp_path / "backup_blocker"
    blocker.write_text("not a folder")
    args = tiny_run_args(
        manifest,
        tmp_path / "run",
        extra=(
            "pipeline.enable_cache=true",
            "model.classifier_shards=2",
            "model.partial_fc_ratio=0.5",
            # Long-tail methods on the sharded, partial-FC classifier: the export stays image-only.
            "long_tail.loss=logit_adjusted",
            "long_tail.adjustment=posthoc",
            "train.checkpoint_every_steps=5",
            f"train.checkpoint_dir={blocker / 'backup'}",
        ),
    ) + ["--runner", "beam"]
    with pytest.raises(Exception):
        main(args)
    first = _executions_by_component(tmp_path / "run" / "metadata.sqlite")
    assert "Evaluator" not in first or not first["Evaluator"]

    blocker.unlink()
    assert main(args) == 0
    states = _executions_by_component(tmp_path / "run" / "metadata.sqlite")
    cached = metadata_store_pb2.Execution.CACHED
    for component in UPSTREAM:
        assert states[component][-1] == cached, (component, states[component])
    assert states["SicotTrainer"][-1] == metadata_store_pb2.Execution.COMPLETE

    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    rebalancing = json.loads((Path(summary["model_run_dir"]) / "classifier_rebalancing.json").read_text())
    assert rebalancing["adjustment"] == "posthoc" and str(rebalancing["tau"]) in rebalancing["validation_top1_by_tau"]
    model = tf.saved_model.load(summary["pushed_dir"])
    images = [png_bytes(COLOURS[c], size=(30, 17)) for c in ("red", "green", "blue")]
    served = model.signatures["serving_default"](images=tf.constant(images))
    examples = [
        tf.train.Example(features=tf.train.Features(feature={
            features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image]))
        })).SerializeToString()
        for image in images
    ]
    probabilities = model.signatures["predict_examples"](examples=tf.constant(examples))["probabilities"].numpy()
    # The merged top-k are the k most probable classes, with their probabilities (ties aside).
    best = -np.sort(-probabilities, axis=1)[:, :3]
    np.testing.assert_allclose(served["scores"].numpy(), best, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        np.take_along_axis(probabilities, served["class_ids"].numpy(), axis=1), best, rtol=1e-4, atol=1e-6
    )
    assert served["class_ids"].numpy()[:, 0].tolist() == np.argmax(probabilities, axis=1).tolist()
    assert served["labels"].numpy().astype(str)[:, 0].tolist() == ["red", "green", "blue"]
