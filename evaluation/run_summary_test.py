"""What a run produced, read back from an ML Metadata SQLite store written here by hand."""

import json

import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from evaluation.run_summary import RunSummary, evaluation_model_dir, slice_metrics, summarize, write_summary
from sicot.config import SicotConfig
from tests.tfma_metrics_protos import evaluation

LIVE, DELETED = metadata_store_pb2.Artifact.LIVE, metadata_store_pb2.Artifact.DELETED


class Store:
    """A writable ML Metadata store on a SQLite file."""

    def __init__(self, path):
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self.types = {}

    def artifact(self, type_name: str, uri: str, state=LIVE, **properties) -> int:
        if type_name not in self.types:
            self.types[type_name] = self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name=type_name))
        artifact = metadata_store_pb2.Artifact(type_id=self.types[type_name], uri=uri, state=state)
        for key, value in properties.items():
            if isinstance(value, int):
                artifact.custom_properties[key].int_value = value
            else:
                artifact.custom_properties[key].string_value = value
        return self.store.put_artifacts([artifact])[0]


def write_evaluation(directory) -> str:
    directory.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(directory / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in evaluation(candidate=0.30, lower=0.26, baseline=0.25):
            writer.write(proto.SerializeToString())
    return str(directory)


@pytest.fixture
def config(tmp_path):
    config = SicotConfig()
    config.pipeline.output_dir = str(tmp_path / "run")
    config.output_path.mkdir()
    return config


def test_the_latest_live_artifact_of_each_kind_is_reported(config, tmp_path):
    store = Store(config.metadata_path)
    old_model, new_model, deleted_model = (tmp_path / name for name in ("model1", "model2", "model3"))
    (new_model / "Format-TFMA").mkdir(parents=True)
    (new_model / "Format-TFMA" / "saved_model.pb").write_bytes(b"")
    store.artifact("Model", str(old_model))
    store.artifact("Model", str(new_model))
    store.artifact("Model", str(deleted_model), state=DELETED)  # newest id, but not LIVE
    store.artifact("ModelRun", "/logs/1")
    store.artifact("ModelEvaluation", "/nowhere/old-evaluation")
    evaluation_dir = write_evaluation(tmp_path / "evaluation")
    store.artifact("ModelEvaluation", evaluation_dir)
    store.artifact("ModelBlessing", "/b/1", blessed=0)
    store.artifact("ModelBlessing", "/b/2", blessed=1, blessing_rule="interval rule: tail top-1 lower bound")
    store.artifact("PushedModel", "/p/1", pushed=1, pushed_destination="/serving/sicot/1")
    report_dir = tmp_path / "ManifestExampleGen" / "ingest_report" / "3"
    report_dir.mkdir(parents=True)
    counts = {"rows": 12, "train": 7, "validation": 2, "eval": 1, "classes": 3, "rejected": 2}
    rejects = [{"source": "/d/m.jsonl", "line": 4, "reason": "missing label", "image": "a.png", "split": "train"},
               {"source": "/d/t.gz", "line": 0, "reason": "not a tf.Example", "image": None, "split": "eval"}]
    (report_dir / "ingest_report.json").write_text(json.dumps({"counts": counts, "rejects": rejects}))
    store.artifact("sicot.IngestReport", "/an/older/report")
    store.artifact("sicot.IngestReport", str(report_dir))

    summary = summarize(config)
    assert summary.model_dir == str(new_model / "Format-Serving")
    assert summary.evaluation_model_dir == str(new_model / "Format-TFMA")
    assert summary.model_run_dir == "/logs/1"
    assert summary.evaluation_dir == evaluation_dir
    assert summary.slices == {"overall": {"top1_accuracy": pytest.approx(0.9)},
                              "head": {"top1_accuracy": pytest.approx(0.9)},
                              "tail": {"top1_accuracy": pytest.approx(0.30)}}  # the candidate's only
    assert summary.metrics == summary.slices["overall"]
    assert summary.blessed is True and summary.blessing_rule == "interval rule: tail top-1 lower bound"
    assert summary.pushed_dir == "/serving/sicot/1"
    assert summary.ingest_report == str(report_dir / "ingest_report.json")
    assert summary.ingest_counts == counts
    assert summary.ingest_rejects == ["train /d/m.jsonl:4: missing label (a.png)",
                                      "eval /d/t.gz:0: not a tf.Example"]
    lines = RunSummary(ingest_counts=summary.ingest_counts, ingest_rejects=summary.ingest_rejects).lines()
    assert lines[:3] == [
        "ingest:         12 rows -> 7 train + 2 validation + 1 test examples of 3 classes, 2 rejected or skipped",
        "  train /d/m.jsonl:4: missing label (a.png)", "  eval /d/t.gz:0: not a tf.Example"]


def test_only_the_first_rejects_are_named(config, tmp_path):
    store = Store(config.metadata_path)
    counts = {"rows": 20, "train": 10, "validation": 0, "eval": 0, "classes": 1, "rejected": 10}
    rejects = [{"source": "m", "line": i, "reason": "missing label", "image": None, "split": "train"} for i in range(10)]
    (tmp_path / "ingest_report.json").write_text(json.dumps({"counts": counts, "rejects": rejects}))
    store.artifact("sicot.IngestReport", str(tmp_path))
    shown = summarize(config).ingest_rejects
    assert shown[:-1] == [f"train m:{i}: missing label" for i in range(5)]
    assert shown[-1] == "... and 5 more (see the report)"


def test_a_run_without_outputs_reports_nothing(config):
    Store(config.metadata_path)  # an empty store
    assert summarize(config) == RunSummary()


def test_not_blessed_not_pushed_and_a_blessing_without_a_verdict(config, tmp_path):
    store = Store(config.metadata_path)
    store.artifact("Model", str(tmp_path / "model"))  # no Format-TFMA: the serving model evaluates
    store.artifact("PushedModel", "/p/1", pushed=0, pushed_destination="/serving/sicot/1")
    store.artifact("ModelBlessing", "/b/1", blessed=0)
    summary = summarize(config)
    assert summary.blessed is False and summary.blessing_rule is None and summary.pushed_dir is None
    assert summary.evaluation_model_dir == summary.model_dir == str(tmp_path / "model" / "Format-Serving")
    store.artifact("ModelBlessing", "/b/2")  # the newest blessing says nothing
    assert summarize(config).blessed is None


def test_evaluation_model_dir_needs_a_saved_model_in_format_tfma(tmp_path):
    (tmp_path / "Format-TFMA").mkdir()  # an empty folder is not a model
    assert evaluation_model_dir(str(tmp_path)) == str(tmp_path / "Format-Serving")
    (tmp_path / "Format-TFMA" / "saved_model.pb").write_bytes(b"")
    assert evaluation_model_dir(str(tmp_path)) == str(tmp_path / "Format-TFMA")


def test_slice_metrics_by_name(tmp_path):
    metrics = slice_metrics(write_evaluation(tmp_path / "e"))
    assert list(metrics) == ["overall", "head", "tail"]
    assert metrics["tail"] == {"top1_accuracy": pytest.approx(0.30)}


def _slice(top1, top3, top1_pc, top3_pc, examples):
    return {"top1_accuracy": top1, "top3_accuracy": top3, "top1_accuracy_per_class": top1_pc,
            "top3_accuracy_per_class": top3_pc, "example_count": examples}


def test_lines_for_the_console():
    summary = RunSummary(
        model_dir="/m/Format-Serving", evaluation_model_dir="/m/Format-TFMA", model_run_dir="/logs",
        evaluation_dir="/e", blessed=True, blessing_rule="TFMA thresholds", pushed_dir="/serving/1",
        slices={"tail": _slice(0.25, 0.5, 0.125, 0.4, 8.0), "overall": _slice(0.912345, 1.0, 0.8, 0.95, 120.0),
                "label_frequency_bucket:1-5": _slice(0, 0, 0, 0, 1.0)},
        ingest_report="/run/ingest/ingest_report.json",
    )
    assert summary.lines() == [
        "eval overall:  top-1 0.9123, top-3 1.0000 (per class 0.8000 / 0.9500) over 120 examples",
        "eval tail:     top-1 0.2500, top-3 0.5000 (per class 0.1250 / 0.4000) over 8 examples",
        "blessed:        True (TFMA thresholds)",
        "pushed model:   /serving/1",
        "trained model:  /m/Format-Serving",
        "eval model:     /m/Format-TFMA",
        "training logs:  /logs",
        "evaluation:     /e",
        "ingest report:  /run/ingest/ingest_report.json",
    ]
    assert RunSummary().lines()[:2] == ["blessed:        None", "pushed model:   (not pushed)"]


def test_write_summary_is_the_json_of_to_dict(config):
    summary = RunSummary(model_dir="/m", blessed=False, slices={"overall": {"top1_accuracy": 0.5}},
                         metrics={"top1_accuracy": 0.5})
    path = write_summary(config, summary)
    assert path == config.output_path / "run_summary.json"
    written = json.loads(path.read_text())
    assert written == summary.to_dict()
    assert RunSummary(**written) == summary
    assert set(written) == {"model_dir", "evaluation_model_dir", "model_run_dir", "evaluation_dir", "blessed",
                            "blessing_rule", "pushed_dir", "metrics", "slices", "ingest_report", "ingest_counts",
                            "ingest_rejects"}
