"""Fixtures shared by the test modules of every package.

``tiny_run_dir``: the whole pipeline (``sicot run``: LocalDagRunner over
ManifestExampleGen ... Pusher) run once per test session on the tiny solid-colour
catalogue of tests/tiny_catalogue.py, with a tiny backbone and few steps. Tests that
need a real trained, exported and pushed model (the end-to-end checks, the evaluation
report, the service) read what it produced instead of training their own.
"""

from __future__ import annotations

import pytest

TINY_RUN_SETTINGS = (
    # Held-out splits carved from the catalogue (not the SKU benchmark's manifests).
    "data.eval_manifest=null",
    "data.validation_manifest=null",
    "data.eval_per_class=2",
    "data.validation_per_class=1",
    "data.validation_max_fraction=0.1",
    "model.backbone=tiny_cnn",
    "model.feature_dim=16",
    "model.dropout=0.0",
    # The paper's bilinear word attention, not the default mean (stop 45): the end-to-end
    # checks of the exported title_attention signature and the report's attention view
    # then run through the attention layer rather than the mean's uniform weights.
    "model.title_encoder=bilinear_attention",
    "preprocessing.image_size=12",
    "train.optimizer=adam",
    "train.learning_rate=0.03",
    "train.lr_decay_gamma=1.0",
    "train.epochs=4",
    "train.steps_per_epoch=15",
    "train.batch_size=16",
    "train.augment=false",
    "serving.top_k=3",
    # red (21 training images) and green (10) are head classes, blue (4) and yellow (2) tail.
    "eval.head_min_train_images=10",
    "eval.frequency_buckets=[3,12]",
)


def tiny_catalogue_manifest(run_dir):
    """The manifest of the tiny catalogue that ``tiny_run_dir`` was made from."""
    return run_dir.parent / "catalogue" / "manifest.jsonl"


def tiny_run_args(manifest, output_dir, extra=()) -> list[str]:
    """`sicot run` arguments for the tiny catalogue (extra: more section.key=value)."""
    args = ["run", "--set", f"data.manifest={manifest}", "--set", f"pipeline.output_dir={output_dir}"]
    for setting in (*TINY_RUN_SETTINGS, *extra):
        args += ["--set", setting]
    return args


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory):
    from cli.main import main
    from tests.tiny_catalogue import write_catalogue

    root = tmp_path_factory.mktemp("e2e")
    manifest = write_catalogue(root / "catalogue")
    out = root / "run"
    assert main(tiny_run_args(manifest, out)) == 0
    return out
