"""The whole pipeline on a tiny catalogue, through the `sicot run` command.

Runs ManifestExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator ->
Transform -> Trainer -> Evaluator -> Pusher with LocalDagRunner and SQLite ML
Metadata, then checks what a user relies on: the pushed SavedModel answers real
images, TFMA's accuracy equals the accuracy recomputed from the pushed model, and the
summary points at the right places.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from models import features
from tests.tiny_catalogue import COLOURS, COUNTS, png_bytes, split_records, write_catalogue

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tiny_run_dir):
    return tiny_run_dir


def test_summary_points_at_what_was_produced(run_dir):
    summary = json.loads((run_dir / "run_summary.json").read_text())
    assert summary["blessed"] is True
    pushed = Path(summary["pushed_dir"])
    # TF Serving layout: <base>/<model name>/<integer version>/saved_model.pb
    assert pushed.parent == run_dir / "serving" / "sicot"
    assert pushed.name.isdigit()
    assert (pushed / "saved_model.pb").exists() and (pushed / "variables").is_dir()
    report = json.loads(Path(summary["ingest_report"]).read_text())
    assert sum(report["counts"][s] for s in ("train", "validation", "eval")) == sum(COUNTS.values())
    assert report["class_counts"]["green"] == {"train": 10, "validation": 1, "eval": 2}


def test_pushed_model_recognises_real_images(run_dir):
    summary = json.loads((run_dir / "run_summary.json").read_text())
    model = tf.saved_model.load(summary["pushed_dir"])
    serve = model.signatures["serving_default"]
    images = tf.constant([png_bytes(COLOURS[c], size=(30, 17)) for c in ("red", "green", "blue")])
    out = serve(images=images)
    labels = out["labels"].numpy().astype(str)
    scores = out["scores"].numpy()
    assert labels.shape == (3, 3) and scores.shape == (3, 3)
    assert all(set(row) <= set(COUNTS) and len(set(row)) == 3 for row in labels)
    assert np.all(np.diff(scores, axis=1) <= 1e-7)  # best first
    assert np.all(scores.sum(axis=1) <= 1.0 + 1e-5)
    # Solid colours are easy: the three classes with the most images are learned.
    assert labels[:, 0].tolist() == ["red", "green", "blue"]


def test_tfma_accuracy_equals_the_pushed_models_accuracy_on_eval(run_dir):
    summary = json.loads((run_dir / "run_summary.json").read_text())
    model = tf.saved_model.load(summary["pushed_dir"])
    labels = [l.decode() for l in model.signatures["serving_default"](
        images=tf.constant([png_bytes(COLOURS["red"])]))["labels"].numpy()[0]]
    assert len(labels) == 3
    serialized = tf.constant(split_records(run_dir, "eval"))
    probabilities = model.signatures["predict_examples"](examples=serialized)["probabilities"].numpy()
    # The pushed model has the image signatures only; the Transform graph is the evaluation model's.
    assert "transform_features" not in model.signatures
    evaluation = tf.saved_model.load(summary["evaluation_model_dir"])
    np.testing.assert_allclose(
        evaluation.signatures["predict_examples"](examples=serialized)["probabilities"].numpy(), probabilities,
        rtol=1e-5, atol=1e-7)
    transformed = evaluation.signatures["transform_features"](examples=serialized)
    label_ids = transformed[features.LABEL_ID].numpy().reshape(-1)
    top1 = float(np.mean(np.argmax(probabilities, axis=1) == label_ids))
    top3 = float(np.mean([l in np.argsort(-p)[:3] for p, l in zip(probabilities, label_ids)]))
    assert summary["metrics"]["example_count"] == len(label_ids)
    assert summary["metrics"]["top1_accuracy"] == pytest.approx(top1, abs=1e-6)
    assert summary["metrics"]["top3_accuracy"] == pytest.approx(top3, abs=1e-6)
    # The training frequency of each example's class rides along for head/tail slicing.
    counts = transformed["label_train_count"].numpy().reshape(-1)
    report = json.loads(Path(summary["ingest_report"]).read_text())
    assert set(counts) <= {report["class_counts"][c]["train"] for c in COUNTS}
    groups = transformed["label_group"].numpy().reshape(-1).astype(str)
    assert groups.tolist() == ["head" if c >= 10 else "tail" for c in counts]
    slices = summary["slices"]
    assert slices["head"]["example_count"] == (counts >= 10).sum()
    assert slices["tail"]["example_count"] == (counts < 10).sum()
    head_top1 = float(np.mean(np.argmax(probabilities, axis=1)[counts >= 10] == label_ids[counts >= 10]))
    assert slices["head"]["top1_accuracy"] == pytest.approx(head_top1, abs=1e-6)


def test_title_attention_reads_out_word_weights(run_dir):
    from models.export import read_title_attention

    summary = json.loads((run_dir / "run_summary.json").read_text())
    model = tf.saved_model.load(summary["evaluation_model_dir"])
    out = model.signatures["title_attention"](titles=tf.constant(["Red thing, number 3!", "", "zzz unknown"]))
    words = out["words"].numpy().astype(str)
    weights = out["weights"].numpy()
    kept = [w for w in words[0] if w]
    assert kept and set(kept) <= {"red", "thing", "number", "3"}
    np.testing.assert_allclose(weights[0].sum(), 1.0, rtol=1e-5)
    assert np.all(weights[0][words[0] == ""] == 0.0)  # padding gets exactly zero
    assert np.all(weights[1] == 0.0) and np.all(weights[2] == 0.0)  # no known word
    # No skew between serving-side title ids and Transform's: same kept words, same places.
    serialized = tf.constant(split_records(run_dir, "eval"))
    titles = tf.io.parse_example(serialized, {features.TITLE: tf.io.FixedLenFeature([], tf.string)})[features.TITLE]
    transform_ids = model.signatures["transform_features"](examples=serialized)[features.TITLE_TOKEN_IDS].numpy()
    served_words = model.signatures["title_attention"](titles=titles)["words"].numpy()
    import tensorflow_transform as tft

    (graph_dir,) = (run_dir / "pipeline" / "Transform" / "transform_graph").iterdir()
    vocab = np.array([b""] + tft.TFTransformOutput(str(graph_dir)).vocabulary_by_name(features.WORD_VOCABULARY))
    np.testing.assert_array_equal(vocab[transform_ids], served_words)
    assert (served_words != b"").any()
    readout = read_title_attention(summary["evaluation_model_dir"], ["red thing number 3"])[0]
    assert [w for w, _ in readout] and all(a >= b for (_, a), (_, b) in zip(readout, readout[1:]))


def test_every_component_ran_and_is_recorded_in_ml_metadata(run_dir):
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(run_dir / "metadata.sqlite"))
    )
    ran = {t.name.split(".")[-1] for t in store.get_execution_types()}
    assert {"ManifestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "TitleWord2Vec", "SicotTrainer",
            "Evaluator", "Pusher"} <= ran
    assert all(e.last_known_state == 3 for e in store.get_executions())  # COMPLETE
