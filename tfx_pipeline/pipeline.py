"""The sicot TFX pipeline graph (runner-independent).

ImportExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform ->
[TitleWord2Vec] -> Trainer -> Evaluator (TFMA) -> Pusher (versioned folder that TF
Serving loads). TitleWord2Vec runs when co-training starts from no pretrained file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components.title_word2vec import SicotTrainer, TitleWord2Vec
from models import features
from models.preprocessing import custom_config_for
from sicot.config import SicotConfig

PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.trainer.run_fn"
_CODE_PACKAGES = ("models", "components")


def code_version() -> str:
    """A hash of the model and component code: part of Transform's and Trainer's cache keys."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in _CODE_PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            if not path.name.endswith("_test.py"):
                h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def eval_config(config: SicotConfig) -> tfma.EvalConfig:
    top1_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": config.eval.min_top1_accuracy})
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="predict_examples",
                prediction_key="probabilities",
                label_key=features.LABEL_ID,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        config='{"name": "top1_accuracy"}',
                        threshold=top1_threshold,
                    ),
                    tfma.MetricConfig(
                        class_name="SparseTopKCategoricalAccuracy",
                        config='{"name": "top3_accuracy", "k": 3}',
                    ),
                ]
            )
        ],
    )


def create_pipeline(config: SicotConfig, ingest_dir: str | None = None) -> tfx.dsl.Pipeline:
    """The pipeline over the TFRecords that `sicot ingest` wrote to ingest_dir."""
    ingest_dir = str(ingest_dir or config.ingest_dir)
    custom_config = custom_config_for(config, code_version())

    example_gen = tfx.components.ImportExampleGen(
        input_base=ingest_dir,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name="train", pattern="train/*"),
                tfx.proto.Input.Split(name="eval", pattern="eval/*"),
            ]
        ),
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config=custom_config,
        materialize=config.preprocessing.materialize,
    )
    word2vec = None
    if config.model.co_training and not config.model.word_vectors and config.word2vec.enabled:
        word2vec = TitleWord2Vec(
            examples=example_gen.outputs["examples"],
            transform_graph=transform.outputs["transform_graph"],
            sicot_config=config.to_json(),
        )
    trainer = SicotTrainer(
        run_fn=RUN_FN,
        examples=(
            transform.outputs["transformed_examples"]
            if config.preprocessing.materialize
            else example_gen.outputs["examples"]
        ),
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(splits=["train"]),
        eval_args=tfx.proto.EvalArgs(splits=["eval"]),
        custom_config=custom_config,
        word_vectors=word2vec.outputs["word_vectors"] if word2vec else None,
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        eval_config=eval_config(config),
        example_splits=["eval"],
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(config.serving_dir))
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=str(config.pipeline_root),
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            *([word2vec] if word2vec else []),
            trainer,
            evaluator,
            pusher,
        ],
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(config.metadata_path)
        ),
        beam_pipeline_args=list(config.pipeline.beam_pipeline_args),
    )
