"""The pipeline graph, built and inspected (nothing runs): which components, wired how,
with which settings; and the code hash that is part of Transform's and Trainer's cache keys."""

import json

import pytest
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.utils import json_utils

from pathlib import Path

from components.interval_blessing import IntervalRule
from components.manifest_example_gen import data_options
from models import custom_config as contract
from sicot.config import ConfigError, load_config
from tests.tiny_catalogue import catalogue_settings
from tfx_pipeline.eval_config import eval_config, interval_rule
from tfx_pipeline.code_version import code_version
from tfx_pipeline.pipeline import PREPROCESSING_FN, RUN_FN, STEP_CODE, create_pipeline

RESOLVER = "latest_blessed_model_resolver"
IMPORT, STATS, SCHEMA, VALIDATOR, TRANSFORM = (
    "ManifestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")
W2V, TRAINER, EVALUATOR, PUSHER = "TitleWord2Vec", "SicotTrainer", "Evaluator", "Pusher"


def build(tmp_path, *settings, **kwargs):
    config = load_config(None, [f"pipeline.output_dir={tmp_path}", *catalogue_settings(tmp_path), *settings])
    return config, create_pipeline(config, **kwargs)


def components(pipeline):
    return {c.id: c for c in pipeline.components}


def wiring(component):
    """input key -> (producing component, its output key)."""
    return {key: (channel.producer_component_id, channel.output_key) for key, channel in component.inputs.items()}


def custom_config(component) -> dict:
    return json_utils.loads(component.exec_properties["custom_config"])


def sections(component) -> set:
    return set(json.loads(custom_config(component)[contract.SICOT_CONFIG]))


def test_the_default_graph_is_wired_as_the_docstring_says(tmp_path):
    _, pipeline = build(tmp_path)
    graph = components(pipeline)
    assert set(graph) == {IMPORT, STATS, SCHEMA, VALIDATOR, TRANSFORM, W2V, TRAINER, RESOLVER, EVALUATOR, PUSHER}
    assert {name: wiring(c) for name, c in graph.items() if name != RESOLVER} == {
        IMPORT: {},
        STATS: {"examples": (IMPORT, "examples")},
        SCHEMA: {"statistics": (STATS, "statistics")},
        VALIDATOR: {"statistics": (STATS, "statistics"), "schema": (SCHEMA, "schema")},
        TRANSFORM: {"examples": (IMPORT, "examples"), "schema": (SCHEMA, "schema")},
        W2V: {"examples": (IMPORT, "examples"), "transform_graph": (TRANSFORM, "transform_graph")},
        TRAINER: {"examples": (IMPORT, "examples"), "transform_graph": (TRANSFORM, "transform_graph"),
                  "schema": (SCHEMA, "schema"), "word_vectors": (W2V, "word_vectors")},
        EVALUATOR: {"examples": (IMPORT, "examples"), "model": (TRAINER, "model"),
                    "baseline_model": (RESOLVER, "model")},
        PUSHER: {"model": (TRAINER, "model"), "model_blessing": (EVALUATOR, "blessing")},
    }
    # The components come in an order that runs each after what it reads.
    order = [c.id for c in pipeline.components]
    for c in pipeline.components:
        assert all(order.index(u.id) < order.index(c.id) for u in c.upstream_nodes), c.id


def test_the_resolver_finds_the_latest_blessed_model(tmp_path):
    _, pipeline = build(tmp_path)
    resolver = components(pipeline)[RESOLVER]
    assert resolver.exec_properties["resolver_class"] is LatestBlessedModelStrategy
    assert {k: c.type_name for k, c in resolver.inputs.items()} == {"model": "Model", "model_blessing": "ModelBlessing"}
    assert not resolver.upstream_nodes


def test_the_example_gen_reads_the_manifests_with_the_data_settings(tmp_path):
    eval_manifest = catalogue_settings(tmp_path)[0].split("=", 1)[1]
    config, pipeline = build(tmp_path, "data.eval_per_class=7", f"data.eval_manifest={eval_manifest}")
    gen = components(pipeline)[IMPORT]
    props = gen.exec_properties
    # Absolute paths: the pipeline's steps need not run in the folder the command ran in.
    assert props["manifest"] == str(Path(config.data.manifest).absolute())
    assert props["eval_manifest"] == str(Path(config.data.eval_manifest).absolute())
    assert props["validation_manifest"] == ""  # carved per class from the training manifest
    options = data_options(props["data_options"])
    assert options.eval_per_class == 7 and options.manifest == props["manifest"]
    assert len(props["input_fingerprint"]) == 64  # the manifests and their images: the cache key
    assert set(gen.outputs) == {"examples", "ingest_report"}


def test_a_runtime_parameter_can_name_the_manifest(tmp_path):
    from tfx import v1 as tfx

    parameter = tfx.dsl.experimental.RuntimeParameter(name="manifest", ptype=str, default="/data/day1.jsonl")
    _, pipeline = build(tmp_path, manifest=parameter)
    props = components(pipeline)[IMPORT].exec_properties
    assert props["manifest"] is parameter
    assert props["input_fingerprint"] == ""  # not known when the pipeline is compiled


def test_one_user_split_is_imported_whole_not_cut_two_to_one(tmp_path):
    _, pipeline = build(tmp_path, f"data.examples.train={tmp_path}/shop/*.gz")
    imported = components(pipeline)["ImportExampleGen"]
    assert json.loads(imported.exec_properties["output_config"]) == {
        "split_config": {"splits": [{"name": "train", "hash_buckets": 1}]}}


def test_user_tfrecords_are_imported_per_split_then_screened(tmp_path):
    config, pipeline = build(tmp_path, f"data.examples.train={tmp_path}/shop/train/*.gz",
                             f"data.examples.eval={tmp_path}/shop/test-*.gz", "data.examples.label_feature=category")
    graph = components(pipeline)
    assert IMPORT not in graph
    imported, screen = graph["ImportExampleGen"], graph["ExampleScreen"]
    assert imported.exec_properties["input_base"] == str(tmp_path / "shop")
    splits = json.loads(imported.exec_properties["input_config"])["splits"]
    assert [(s["name"], s["pattern"]) for s in splits] == [("train", "train/*.gz"), ("eval", "test-*.gz")]
    assert wiring(screen) == {"imported_examples": ("ImportExampleGen", "examples")}
    assert data_options(screen.exec_properties["data_options"]).examples.label_feature == "category"
    assert json.loads(imported.exec_properties["output_config"]) == {}  # two splits: kept as they are
    # Every later component reads the screened examples, never the imported ones.
    for name in (STATS, TRANSFORM, W2V, EVALUATOR):
        assert wiring(graph[name])["examples"] == ("ExampleScreen", "examples"), name


def test_transform_gets_only_the_preprocessing_settings_and_the_code_version(tmp_path):
    config, pipeline = build(tmp_path, "preprocessing.image_size=20")
    transform = components(pipeline)[TRANSFORM]
    assert transform.exec_properties["preprocessing_fn"] == PREPROCESSING_FN
    assert custom_config(transform) == contract.encode(config, code_version("models.preprocessing"), sections=("preprocessing",))
    assert sections(transform) == {"preprocessing"}
    assert contract.decode(custom_config(transform)).preprocessing.image_size == 20
    assert "transformed_examples" not in transform.outputs  # preprocessing.materialize is false


def test_the_trainer_gets_the_run_fn_splits_and_the_whole_training_config(tmp_path):
    config, pipeline = build(tmp_path, "train.epochs=3")
    trainer = components(pipeline)[TRAINER]
    assert trainer.exec_properties["run_fn"] == RUN_FN
    assert json.loads(trainer.exec_properties["train_args"]) == {"splits": ["train"]}
    assert json.loads(trainer.exec_properties["eval_args"]) == {"splits": ["validation"]}
    assert custom_config(trainer) == contract.encode(config, code_version("models.trainer", "components.sicot_trainer"))
    assert contract.decode(custom_config(trainer)).train.epochs == 3
    assert set(trainer.outputs) == {"model", "model_run"}


def test_cache_keys_change_only_with_the_settings_a_component_reads(tmp_path):
    _, base = build(tmp_path)
    _, other_split = build(tmp_path, "eval.split=validation")
    _, other_epochs = build(tmp_path, "train.epochs=5")
    _, other_size = build(tmp_path, "preprocessing.image_size=20")

    def props(pipeline, name):
        return components(pipeline)[name].exec_properties

    # Scoring on another split reuses the trained model; only the Evaluator changes.
    assert props(other_split, TRAINER)["custom_config"] == props(base, TRAINER)["custom_config"]
    assert props(base, EVALUATOR)["example_splits"] == '["eval"]'
    assert props(other_split, EVALUATOR)["example_splits"] == '["validation"]'
    # Training settings do not touch Transform's key; preprocessing settings touch both.
    assert props(other_epochs, TRANSFORM)["custom_config"] == props(base, TRANSFORM)["custom_config"]
    assert props(other_epochs, TRAINER)["custom_config"] != props(base, TRAINER)["custom_config"]
    assert props(other_size, TRANSFORM)["custom_config"] != props(base, TRANSFORM)["custom_config"]
    assert props(other_size, TRAINER)["custom_config"] != props(base, TRAINER)["custom_config"]


def test_materialized_examples_feed_the_trainer(tmp_path):
    _, pipeline = build(tmp_path, "preprocessing.materialize=true")
    graph = components(pipeline)
    assert "transformed_examples" in graph[TRANSFORM].outputs
    assert wiring(graph[TRAINER])["examples"] == (TRANSFORM, "transformed_examples")
    # The word2vec step and the Evaluator still read the raw examples.
    assert wiring(graph[W2V])["examples"] == (IMPORT, "examples")
    assert wiring(graph[EVALUATOR])["examples"] == (IMPORT, "examples")


def test_the_word2vec_step_gets_its_three_sections(tmp_path):
    config, pipeline = build(tmp_path, "word2vec.window=4", "model.feature_dim=32")
    w2v = components(pipeline)[W2V]
    tree = json.loads(w2v.exec_properties["sicot_config"])
    assert set(tree) == {"word2vec", "model", "train"}
    assert tree["word2vec"]["window"] == 4 and tree["model"]["feature_dim"] == 32
    assert w2v.exec_properties["sicot_config"] == contract.encode(
        config, sections=("word2vec", "model", "train"))[contract.SICOT_CONFIG]
    # Its own code is part of its cache key, like Transform's and the Trainer's.
    assert w2v.exec_properties["code_version"] == code_version("components.title_word2vec")


@pytest.mark.parametrize("settings", [
    ["model.co_training=false"],
    ["model.word_vectors=/vectors/glove.txt"],
    ["word2vec.enabled=false"],
])
def test_no_word2vec_step_without_co_training_or_with_pretrained_vectors_or_when_off(tmp_path, settings):
    _, pipeline = build(tmp_path, *settings)
    graph = components(pipeline)
    assert W2V not in graph
    assert "word_vectors" not in wiring(graph[TRAINER])
    assert set(graph) == {IMPORT, STATS, SCHEMA, VALIDATOR, TRANSFORM, TRAINER, RESOLVER, EVALUATOR, PUSHER}


def test_the_evaluator_gates_on_the_baseline_with_the_pipelines_eval_config(tmp_path):
    config, pipeline = build(tmp_path, "eval.min_top1_accuracy=0.25", "eval.split=validation")
    evaluator = components(pipeline)[EVALUATOR]
    got = json_format.Parse(evaluator.exec_properties["eval_config"], tfma.EvalConfig())
    assert got == eval_config(config, with_baseline=True)
    assert [m.name for m in got.model_specs] == ["candidate", "baseline"]
    assert json.loads(evaluator.exec_properties["example_splits"]) == ["validation"]
    assert evaluator.exec_properties["interval_rule"] is None  # eval.blessing_interval_rule is off


def test_the_interval_rule_reaches_the_evaluator(tmp_path):
    config, pipeline = build(tmp_path, "eval.blessing_interval_rule=true")
    rule = components(pipeline)[EVALUATOR].exec_properties["interval_rule"]
    assert IntervalRule.from_json(rule) == interval_rule(config)


def test_the_pusher_writes_a_versioned_folder_under_serving(tmp_path):
    config, pipeline = build(tmp_path, "pipeline.name=shelf")
    destination = json.loads(components(pipeline)[PUSHER].exec_properties["push_destination"])
    assert destination == {"filesystem": {"base_directory": str(tmp_path / "serving" / "shelf")}}
    assert str(config.serving_dir) == destination["filesystem"]["base_directory"]


def test_without_push_no_resolver_no_pusher_and_no_baseline(tmp_path):
    # The interval rule would need confidence intervals; without a push it is not asked for.
    config, pipeline = build(tmp_path, "eval.blessing_interval_rule=true", "eval.confidence_intervals=none",
                             push=False)
    graph = components(pipeline)
    assert set(graph) == {IMPORT, STATS, SCHEMA, VALIDATOR, TRANSFORM, W2V, TRAINER, EVALUATOR}
    evaluator = graph[EVALUATOR]
    assert wiring(evaluator) == {"examples": (IMPORT, "examples"), "model": (TRAINER, "model")}
    assert evaluator.exec_properties["interval_rule"] is None
    got = json_format.Parse(evaluator.exec_properties["eval_config"], tfma.EvalConfig())
    assert got == eval_config(config, with_baseline=False)
    assert len(got.model_specs) == 1 and not got.model_specs[0].name


def test_pipeline_name_root_metadata_cache_and_beam_args(tmp_path):
    _, pipeline = build(tmp_path, "pipeline.name=shelf", "pipeline.enable_cache=true",
                        "pipeline.beam_pipeline_args=[--direct_num_workers=3,--direct_running_mode=multi_processing]")
    assert pipeline.pipeline_info.pipeline_name == "shelf"
    assert pipeline.pipeline_info.pipeline_root == str(tmp_path / "pipeline")
    assert pipeline.metadata_connection_config.sqlite.filename_uri == str(tmp_path / "metadata.sqlite")
    assert pipeline.enable_cache is True
    assert pipeline.beam_pipeline_args == ["--direct_num_workers=3", "--direct_running_mode=multi_processing"]
    _, default = build(tmp_path)
    assert default.enable_cache is False
    assert default.beam_pipeline_args == ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def test_each_step_carries_the_version_of_its_own_code(tmp_path):
    _, pipeline = build(tmp_path)
    graph = components(pipeline)
    assert graph[IMPORT].exec_properties["code_version"] == code_version("components.manifest_example_gen")
    versions = {graph[IMPORT].exec_properties["code_version"], custom_config(graph[TRANSFORM])["code_version"],
                graph[W2V].exec_properties["code_version"], custom_config(graph[TRAINER])["code_version"]}
    assert len(versions) == 4  # four steps, four different sets of files
    assert set(STEP_CODE) >= {"ingest", "transform", "word2vec", "trainer"}


def test_user_tfrecords_in_a_bucket_keep_their_urls(tmp_path):
    """gs:// patterns are neither made absolute nor normalised as local paths (os.path
    would turn gs://shop into gs:/shop, a local folder)."""
    _, pipeline = build(tmp_path, "data.examples.train=gs://shop-data/tfrecords/train/*.gz",
                        "data.examples.eval=gs://shop-data/tfrecords/test-*.gz")
    imported = components(pipeline)["ImportExampleGen"]
    assert imported.exec_properties["input_base"] == "gs://shop-data/tfrecords"
    splits = json.loads(imported.exec_properties["input_config"])["splits"]
    assert [(s["name"], s["pattern"]) for s in splits] == [("train", "train/*.gz"), ("eval", "test-*.gz")]


@pytest.mark.parametrize("train, other, message", [
    ("gs://a/train/*.gz", "gs://b/eval/*.gz", "are on different file systems or buckets"),
    ("gs://a/train/*.gz", "local/eval/*.gz", "on the local disk or every one in a bucket, not both"),
])
def test_user_tfrecords_in_two_places_are_refused(tmp_path, train, other, message):
    with pytest.raises(ConfigError, match=message):
        build(tmp_path, f"data.examples.train={train}", f"data.examples.eval={other}")
