"""The sicot TFX pipeline graph (runner-independent).

ImportExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform ->
[TitleWord2Vec] -> Trainer -> Evaluator (TFMA, head/tail slices; gated on the last
blessed model, which a Resolver finds) -> Pusher (versioned folder that TF Serving
loads). TitleWord2Vec runs when co-training starts from no pretrained file.

``sicot compare`` builds the same graph without the resolver and the Pusher: each
variant is evaluated on its own and nothing is pushed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tfx import v1 as tfx


from components import evaluation_model_executor
from components.ingest import SPLITS as INGEST_SPLITS
from components.sicot_trainer import SicotTrainer
from components.title_word2vec import TitleWord2Vec
from models import custom_config as custom_config_contract
from sicot.config import SicotConfig
from tfx_pipeline.eval_config import eval_config, example_split, interval_rule

PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.trainer.run_fn"
# The code the pipeline's own steps run: models/ and components/, and sicot/ (the
# configuration and the head/tail definition the exported model carries).
_CODE_PACKAGES = ("models", "components", "sicot")


def code_version() -> str:
    """A hash of the code of the pipeline's own steps: part of the cache keys of
    Transform, the word2vec step and the Trainer, so that a code change reruns them."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in _CODE_PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            if not path.name.endswith("_test.py"):
                h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def create_pipeline(config: SicotConfig, ingest_dir: str | None = None, push: bool = True) -> tfx.dsl.Pipeline:
    """The pipeline over the TFRecords that `sicot ingest` wrote to ingest_dir.

    ``push=False`` (``sicot compare``): no baseline resolver and no Pusher.
    """
    ingest_dir = str(ingest_dir or config.ingest_dir)
    version = code_version()
    custom_config = custom_config_contract.encode(config, version)

    example_gen = tfx.components.ImportExampleGen(
        input_base=ingest_dir,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in INGEST_SPLITS
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
        custom_config=custom_config_contract.encode(config, version, sections=("preprocessing",)),
        materialize=config.preprocessing.materialize,
    )
    word2vec = None
    if config.model.co_training and not config.model.word_vectors and config.word2vec.enabled:
        word2vec = TitleWord2Vec(
            examples=example_gen.outputs["examples"],
            transform_graph=transform.outputs["transform_graph"],
            sicot_config=custom_config_contract.encode(config, sections=("word2vec", "model", "train"))[
                custom_config_contract.SICOT_CONFIG],
            code_version=version,
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
        eval_args=tfx.proto.EvalArgs(splits=["validation"]),
        custom_config=custom_config,
        word_vectors=word2vec.outputs["word_vectors"] if word2vec else None,
    )
    resolver = None
    if push:
        resolver = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
        ).with_id("latest_blessed_model_resolver")
    # TFMA reads the evaluation model (title signatures), the Pusher the serving model.
    evaluator = evaluation_model_executor.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=resolver.outputs["model"] if resolver else None,
        eval_config=eval_config(config, with_baseline=push),
        example_splits=[example_split(config.eval.split)],
        interval_rule=interval_rule(config) if push else None,
    )
    pusher = None
    if push:
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
            *([resolver] if resolver else []),
            evaluator,
            *([pusher] if pusher else []),
        ],
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(config.metadata_path)
        ),
        beam_pipeline_args=list(config.pipeline.beam_pipeline_args),
    )
