"""The evaluated models of a run, read back from an ML Metadata SQLite store written here
by hand (Trainer and Evaluator executions with their artifacts and events), TFMA
metrics written with tests/tfma_metrics_protos.py and a Transform output folder holding
only the two vocabularies that are read."""

import json

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from evaluation.run_results import (
    Comparison,
    RunResultsError,
    co_training_settings,
    collect_model_results,
    is_visual_only,
    latest_comparison,
    long_tail_suffix,
    metadata_path_of,
    shared_config_hash,
    variant_of,
)
from models.custom_config import encode
from sicot.config import SicotConfig
from tests.tfma_metrics_protos import metrics_for_slice
from tfx_pipeline.eval_config import CLASS_HITS

COMPLETE, RUNNING, CACHED = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.RUNNING,
                             metadata_store_pb2.Execution.CACHED)
INPUT, OUTPUT = metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.OUTPUT


def config_of(co_training: bool, seed: int, loss: str = "softmax", epochs: int | None = None, **model) -> SicotConfig:
    config = SicotConfig()
    config.model.co_training = co_training
    for key, value in model.items():
        setattr(config.model, key, value)
    config.train.seed = seed
    config.long_tail.loss = loss
    if epochs is not None:
        config.train.epochs = epochs
    return config


class Run:
    """Writes a run's ML Metadata the way the TFX pipeline does (the parts read back)."""

    def __init__(self, root):
        self.root = root
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(root / "metadata.sqlite")
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self._types = {}
        self.examples = self.artifact("Examples", str(root / "examples"))
        self.transform_dir = self.transform_output(root / "transform")
        self.transform_graph = self.artifact("TransformGraph", self.transform_dir)

    def _type(self, kind, name):
        key = (kind, name)
        if key not in self._types:
            if kind == "artifact":
                self._types[key] = self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
            else:
                self._types[key] = self.store.put_execution_type(metadata_store_pb2.ExecutionType(name=name))
        return self._types[key]

    def artifact(self, type_name, uri, **int_properties) -> int:
        artifact = metadata_store_pb2.Artifact(type_id=self._type("artifact", type_name), uri=uri,
                                               state=metadata_store_pb2.Artifact.LIVE)
        for key, value in int_properties.items():
            artifact.custom_properties[key].int_value = value
        return self.store.put_artifacts([artifact])[0]

    def execution(self, type_name, state, inputs=(), outputs=(), **string_properties) -> int:
        execution = metadata_store_pb2.Execution(type_id=self._type("execution", type_name), last_known_state=state)
        for key, value in string_properties.items():
            execution.custom_properties[key].string_value = value
        execution_id = self.store.put_executions([execution])[0]
        events = []
        for event_type, links in ((INPUT, inputs), (OUTPUT, outputs)):
            for key, artifact_id in links:
                event = metadata_store_pb2.Event(artifact_id=artifact_id, execution_id=execution_id, type=event_type)
                event.path.steps.add().key = key
                event.path.steps.add().index = 0
                events.append(event)
        self.store.put_events(events)
        return execution_id

    @staticmethod
    def transform_output(directory) -> str:
        assets = directory / "transform_fn" / "assets"
        assets.mkdir(parents=True)
        (assets / "labels").write_text("red\ngreen\nblue\n")  # class id order
        (assets / "label_frequency").write_text("21 red\n10 green\n4 blue\n")
        return str(directory)

    def trainer(self, config: SicotConfig, name: str, custom_config: bool = True) -> int:
        model = self.artifact("Model", str(self.root / "models" / name))
        properties = {"custom_config": json.dumps(encode(config, "code-v1"))} if custom_config else {}
        self.execution("tfx.extensions.SicotTrainer", COMPLETE, inputs=[("transform_graph", self.transform_graph)],
                       outputs=[("model", model)], **properties)
        return model

    def evaluator(self, model: int, top1: float, state=COMPLETE, blessed: int | None = None,
                  example_splits: str | None = None, evaluation: bool = True) -> int:
        outputs = []
        if evaluation:
            directory = self.root / "evaluations" / f"{len(list((self.root).glob('evaluations/*')))}"
            write_metrics(directory, top1)
            outputs.append(("evaluation", self.artifact("ModelEvaluation", str(directory))))
        if blessed is not None:
            outputs.append(("blessing", self.artifact("ModelBlessing", str(self.root / "blessing"), blessed=blessed)))
        properties = {"example_splits": example_splits} if example_splits else {}
        return self.execution("tfx.components.evaluator.component.Evaluator", state,
                              inputs=[("examples", self.examples), ("model", model)], outputs=outputs, **properties)


def _hits(kv, rows):
    kv.key.name = CLASS_HITS
    array = kv.value.array_value
    array.data_type = array.DataType.INT64
    array.shape.extend([len(rows), 4])
    array.int64_values.extend(v for row in rows for v in row)


def write_metrics(directory, top1: float):
    """overall (3 classes, with intervals) and tail (1 class) slices, class hits in both."""
    directory.mkdir(parents=True)
    overall = metrics_for_slice(None, "", [("candidate", top1, top1 - 0.1, False), ("baseline", 0.01, 0.0, False)])
    _hits(overall.metric_keys_and_values.add(), [[0, 5, 4, 5], [1, 3, 2, 3], [2, 2, 1, 1]])
    tail = metrics_for_slice("label_group", "tail", [("candidate", 0.5, None, False)])
    _hits(tail.metric_keys_and_values.add(), [[2, 2, 1, 1]])
    with tf.io.TFRecordWriter(str(directory / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in (overall, tail):
            writer.write(proto.SerializeToString())


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path)


def test_every_completed_evaluation_gives_one_model_result(run, tmp_path):
    baseline = run.trainer(config_of(False, 1), "baseline")
    co_trained = run.trainer(config_of(True, 1), "sicot")
    (tmp_path / "models" / "sicot" / "Format-TFMA").mkdir(parents=True)
    (tmp_path / "models" / "sicot" / "Format-TFMA" / "saved_model.pb").write_bytes(b"")
    first = run.evaluator(baseline, 0.6, blessed=1)
    run.evaluator(co_trained, 0.7, state=RUNNING)  # not finished: left out
    run.evaluator(co_trained, 0.7, evaluation=False)  # no evaluation output: left out
    second = run.evaluator(co_trained, 0.8, state=CACHED, blessed=0)

    results = collect_model_results(tmp_path / "metadata.sqlite")
    assert [(r.variant, r.seed, r.execution_id) for r in results] == [
        ("baseline", 1, first), ("sicot-mean", 1, second)]
    base, co = results
    assert base.config_hash == co.config_hash == shared_config_hash(config_of(True, 1))
    assert base.config.model.co_training is False and co.co_trained and not base.co_trained
    assert (base.split, co.split) == ("test", "test")
    assert (base.blessed, co.blessed) == (True, False)
    assert base.model_dir == str(tmp_path / "models" / "baseline" / "Format-Serving")
    assert co.model_dir == str(tmp_path / "models" / "sicot" / "Format-TFMA")
    assert base.evaluation_dir == str(tmp_path / "evaluations" / "0")
    assert co.evaluation_dir == str(tmp_path / "evaluations" / "2")
    assert base.eval_examples_dir == str(tmp_path / "examples" / "Split-eval")
    assert base.transform_dir == run.transform_dir
    assert co.labels == ["red", "green", "blue"] and co.train_counts == {"red": 21, "green": 10, "blue": 4}
    assert co.slices == {"overall": {"top1_accuracy": pytest.approx(0.8), "classes": 3.0},
                         "tail": {"top1_accuracy": 0.5, "classes": 1.0}}
    assert co.intervals == {"overall": {"top1_accuracy": (pytest.approx(0.7), pytest.approx(0.9))}, "tail": {}}
    np.testing.assert_array_equal(co.class_hits, [[0, 5, 4, 5], [1, 3, 2, 3], [2, 2, 1, 1]])  # the overall slice's


def test_the_scored_split_comes_from_the_evaluators_example_splits(run, tmp_path):
    model = run.trainer(config_of(False, 2), "m")
    run.evaluator(model, 0.5, example_splits='["validation"]')
    run.evaluator(model, 0.5, example_splits='["eval"]')
    run.evaluator(model, 0.5, example_splits='["holdout"]')  # a split of no known name keeps its own
    results = collect_model_results(tmp_path / "metadata.sqlite")
    assert [(r.split, r.eval_examples_dir) for r in results] == [
        ("validation", str(tmp_path / "examples" / "Split-validation")),
        ("test", str(tmp_path / "examples" / "Split-eval")),
        ("holdout", str(tmp_path / "examples" / "Split-holdout")),
    ]
    assert all(r.blessed is None for r in results)  # no blessing output


def test_models_not_trained_by_the_sicot_trainer_are_left_out(run, tmp_path):
    imported = run.artifact("Model", str(tmp_path / "imported"))  # no producing execution
    no_config = run.trainer(config_of(False, 1), "no-config", custom_config=False)
    run.evaluator(imported, 0.5)
    run.evaluator(no_config, 0.5)
    assert collect_model_results(tmp_path / "metadata.sqlite") == []
    with pytest.raises(RunResultsError, match="no completed Evaluator execution in this run's ML Metadata"):
        latest_comparison([])


def test_latest_comparison_keeps_the_newest_split_and_settings_and_orders_the_models(run, tmp_path):
    models = {
        ("sicot", 2): run.trainer(config_of(True, 2), "s2"),
        ("baseline", 2): run.trainer(config_of(False, 2), "b2"),
        ("sicot", 1): run.trainer(config_of(True, 1), "s1"),
        ("other-settings", 1): run.trainer(config_of(False, 1, epochs=99), "o1"),
        ("baseline+logit", 1): run.trainer(config_of(False, 1, loss="logit_adjusted"), "bl1"),
    }
    run.evaluator(models["sicot", 2], 0.1, example_splits='["eval"]')
    old = run.evaluator(models["baseline", 2], 0.2, example_splits='["validation"]')  # another split
    run.evaluator(models["other-settings", 1], 0.3, example_splits='["validation"]')  # other shared settings
    run.evaluator(models["sicot", 2], 0.4, example_splits='["validation"]')
    run.evaluator(models["sicot", 1], 0.5, example_splits='["validation"]')
    run.evaluator(models["baseline+logit", 1], 0.6, example_splits='["validation"]')
    newest = run.evaluator(models["baseline", 2], 0.7, example_splits='["validation"]')
    kept = latest_comparison(collect_model_results(tmp_path / "metadata.sqlite"))
    assert [(m.variant, m.seed, m.slices["overall"]["top1_accuracy"]) for m in kept] == [
        ("baseline", 2, pytest.approx(0.7)),
        ("baseline+logit_adjusted", 1, pytest.approx(0.6)),
        ("sicot-mean", 1, pytest.approx(0.5)),
        ("sicot-mean", 2, pytest.approx(0.4)),  # the validation one, not the test one
    ]
    assert newest in [m.execution_id for m in kept] and old not in [m.execution_id for m in kept]


def test_a_screening_of_another_co_training_setting_is_not_one_of_the_compared_models(run, tmp_path):
    # A one-seed screening (stream alignment on) left in the comparison's ML Metadata:
    # its name (sicot-mean) says nothing of the setting, so it must not join the table
    # of the comparison run after it (same shared settings, same split).
    screening = run.trainer(config_of(True, 1, title_encoder="mean", stream_alignment_weight=1.0), "screen")
    compared = {
        "baseline": run.trainer(config_of(False, 1, stream_alignment_weight=0.0), "b1"),
        "bilstm": run.trainer(config_of(True, 1, title_encoder="bilstm"), "s1"),
    }
    run.evaluator(screening, 0.9, example_splits='["validation"]')
    run.evaluator(compared["baseline"], 0.2, example_splits='["validation"]')
    run.evaluator(compared["bilstm"], 0.3, example_splits='["validation"]')
    kept = latest_comparison(collect_model_results(tmp_path / "metadata.sqlite"))
    assert [(m.variant, m.slices["overall"]["top1_accuracy"]) for m in kept] == [
        ("baseline", pytest.approx(0.2)), ("sicot-bilstm", pytest.approx(0.3))]


def test_a_planned_comparison_takes_its_own_co_training_settings_not_the_newest(run, tmp_path):
    # A plan's report names its semantic stream settings: a later screening of another
    # setting in the same ML Metadata does not replace the plan's co-trained model.
    planned = run.trainer(config_of(True, 1, title_encoder="mean"), "planned")
    screening = run.trainer(config_of(True, 1, title_encoder="mean", mixed_loss_weight=2.0), "screen")
    run.evaluator(planned, 0.3, example_splits='["validation"]')
    run.evaluator(screening, 0.9, example_splits='["validation"]')
    results = collect_model_results(tmp_path / "metadata.sqlite")
    config_hash = results[0].config_hash
    wanted = Comparison(config_hash, "validation", co_training_settings(config_of(True, 1, title_encoder="mean")))
    assert [m.slices["overall"]["top1_accuracy"] for m in latest_comparison(results, wanted)] == [pytest.approx(0.3)]
    # Its first two fields alone: the newest co-trained model's settings.
    assert [m.slices["overall"]["top1_accuracy"] for m in latest_comparison(results, wanted[:2])] == [pytest.approx(0.9)]


def test_metadata_path_of_a_run_or_a_comparison_folder(tmp_path):
    with pytest.raises(RunResultsError) as info:
        metadata_path_of(tmp_path)
    assert str(info.value) == f"no ML Metadata (metadata.sqlite) in {tmp_path} or {tmp_path / 'compare'}"
    (tmp_path / "compare").mkdir()
    (tmp_path / "compare" / "metadata.sqlite").write_bytes(b"")
    assert metadata_path_of(str(tmp_path)) == tmp_path / "compare" / "metadata.sqlite"
    (tmp_path / "metadata.sqlite").write_bytes(b"")  # the run's own comes first
    assert metadata_path_of(tmp_path) == tmp_path / "metadata.sqlite"


@pytest.mark.parametrize("co_training, encoder, loss, adjustment, variant", [
    (False, "mean", "softmax", "none", "baseline"),
    (False, "mean", "softmax", "posthoc", "baseline+posthoc"),
    (True, "mean", "balanced_softmax", "none", "sicot-mean+balanced_softmax"),
    (True, "bilstm", "logit_adjusted", "tau_norm", "sicot-bilstm+logit_adjusted+tau_norm"),
])
def test_variant_names(co_training, encoder, loss, adjustment, variant):
    config = config_of(co_training, 1, loss)
    config.model.title_encoder = encoder
    config.long_tail.adjustment = adjustment
    assert variant_of(config) == variant


@pytest.mark.parametrize("variant, suffix, visual_only", [
    ("baseline", "", True),
    ("baseline+posthoc", "+posthoc", True),
    ("sicot-mean", "", False),
    ("sicot-mean+logit_adjusted+tau_norm", "+logit_adjusted+tau_norm", False),
    ("baseline-x", "", False),
])
def test_long_tail_suffix_and_visual_only(variant, suffix, visual_only):
    assert long_tail_suffix(variant) == suffix and is_visual_only(variant) is visual_only


def test_the_shared_hash_ignores_variant_semantic_comparison_and_location_settings():
    reference = shared_config_hash(SicotConfig())
    changed = SicotConfig()
    changed.model.co_training, changed.model.title_encoder = False, "bilinear_attention"
    changed.train.seed, changed.long_tail.loss, changed.long_tail.adjustment = 7, "logit_adjusted", "posthoc"
    changed.model.title_word_dropout = 0.33
    changed.model.mixed_loss_weight, changed.word2vec.window = 0.5, 7
    changed.compare.seeds = [1, 2, 3]
    changed.pipeline.output_dir = "/elsewhere"
    assert shared_config_hash(changed) == reference
    other = SicotConfig()
    other.train.epochs += 1
    assert shared_config_hash(other) != reference
    long_tail_setting = SicotConfig()
    long_tail_setting.long_tail.loss_tau = 2.0  # a long-tail setting that is not in the variant name
    assert shared_config_hash(long_tail_setting) != reference
