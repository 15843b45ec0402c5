"""The sicot TFX pipeline graph (runner-independent).

ManifestExampleGen (the manifests of ``data``; or, with ``data.examples``, the user's
TFRecords: ImportExampleGen -> ExampleScreen) -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform ->
[TitleWord2Vec] -> Trainer -> Evaluator (TFMA, head/tail slices; gated on the last
blessed model, which a Resolver finds) -> Pusher (versioned folder that TF Serving
loads). TitleWord2Vec runs when co-training starts from no pretrained file. With
``pipeline.trainer_cluster`` the Trainer step runs its training as a Vertex AI
CustomJob or a Kubeflow TFJob (tfx_pipeline/trainer_cluster.py).

``sicot compare`` builds the same graph without the resolver and the Pusher: each
variant is evaluated on its own and nothing is pushed.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from tfx import v1 as tfx

from components import evaluation_model_executor
from components.example_screen import ExampleScreen
from components.ingest import input_fingerprint
from components.manifest import check_manifest
from components.manifest_example_gen import ManifestExampleGen
from components.sicot_trainer import SicotTrainer
from components.title_word2vec import TitleWord2Vec
from models import custom_config as custom_config_contract
from sicot.config import ConfigError, SicotConfig, is_url
from tfx_pipeline.code_version import code_version
from tfx_pipeline.eval_config import eval_config, example_split, interval_rule
from tfx_pipeline.trainer_cluster import trainer_step

PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.trainer.run_fn"
# The modules each step runs: its code version (tfx_pipeline/code_version.py) covers
# them and what they import.
STEP_CODE = {
    "ingest": ("components.manifest_example_gen",),
    "screen": ("components.example_screen",),
    "transform": ("models.preprocessing",),
    "word2vec": ("components.title_word2vec",),
    "trainer": ("models.trainer", "components.sicot_trainer"),
}


def _glob_base(pattern: str) -> str:
    """The folder of a file pattern above its first wildcard."""
    head = pattern.split("*")[0].split("?")[0].split("[")[0]
    return head.rsplit("/", 1)[0] if "/" in head else "."


def _absolute(path: str) -> str:
    return path if is_url(path) else str(Path(path).absolute())


def _common_folder(folders: list[str]) -> str:
    """The deepest folder holding every one of ``folders`` (local paths or URLs)."""
    parts = [f.rstrip("/").split("/") for f in folders]
    common = []
    for names in zip(*parts):
        if len(set(names)) > 1:
            break
        common.append(names[0])
    base = "/".join(common)
    if is_url(folders[0]) and len(common) < 3:  # gs:, "", the bucket
        raise ConfigError(f"data.examples: {', '.join(folders)} are on different file systems or buckets; "
                          "give every split's TFRecords in one bucket")
    return base or "/"


def example_gens(config: SicotConfig, manifest=None) -> list:
    """The nodes that make the pipeline's Examples; the last one's ``examples`` output is
    what every later node reads.

    manifest: the training manifest (default data.manifest; the Kubeflow runner passes a
    RuntimeParameter). With data.examples.train set: ImportExampleGen over the user's
    TFRecords (a split pattern each, relative to their common folder), then ExampleScreen.
    """
    data = copy.deepcopy(config.data)
    user = data.examples
    if user.train:
        patterns = {split: _absolute(getattr(user, split))
                    for split in ("train", "validation", "eval") if getattr(user, split)}
        if len({is_url(p) for p in patterns.values()}) > 1:
            raise ConfigError("data.examples: give every split's TFRecords on the local disk or every one in a "
                              f"bucket, not both ({', '.join(patterns.values())})")
        base = _common_folder([_glob_base(p) for p in patterns.values()])
        # One input split would otherwise be cut 2:1 into train and eval by hash: the
        # missing splits are carved per class by ExampleScreen instead.
        output_config = None
        if len(patterns) == 1:
            output_config = tfx.proto.Output(split_config=tfx.proto.SplitConfig(
                splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=1)]))
        imported = tfx.components.ImportExampleGen(
            input_base=base,
            input_config=tfx.proto.Input(splits=[
                tfx.proto.Input.Split(name=split, pattern=pattern[len(base):].lstrip("/"))
                for split, pattern in patterns.items()
            ]),
            output_config=output_config,
        )
        return [imported, ExampleScreen(imported.outputs["examples"], data,
                                        code_version=code_version(*STEP_CODE["screen"]))]
    for key in ("manifest", "eval_manifest", "validation_manifest"):
        if getattr(data, key):
            setattr(data, key, str(Path(getattr(data, key)).absolute()))
    version = code_version(*STEP_CODE["ingest"])
    if manifest is None:
        for path in filter(None, (data.manifest, data.eval_manifest, data.validation_manifest)):
            check_manifest(path)  # a missing manifest fails here, not inside a Beam worker
        return [ManifestExampleGen(data.manifest, data, input_fingerprint=input_fingerprint(data),
                                   code_version=version)]
    return [ManifestExampleGen(manifest, data, code_version=version)]


def create_pipeline(config: SicotConfig, push: bool = True, manifest=None) -> tfx.dsl.Pipeline:
    """The whole pipeline, from the manifests (or data.examples) to the pushed model.

    ``push=False`` (``sicot compare``): no baseline resolver and no Pusher.
    manifest: see :func:`example_gens`.
    """
    custom_config = custom_config_contract.encode(config, code_version(*STEP_CODE["trainer"]))

    gens = example_gens(config, manifest)
    example_gen = gens[-1]
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
        custom_config=custom_config_contract.encode(config, code_version(*STEP_CODE["transform"]),
                                                   sections=("preprocessing",)),
        materialize=config.preprocessing.materialize,
    )
    word2vec = None
    if config.model.co_training and not config.model.word_vectors and config.word2vec.enabled:
        word2vec = TitleWord2Vec(
            examples=example_gen.outputs["examples"],
            transform_graph=transform.outputs["transform_graph"],
            sicot_config=custom_config_contract.encode(config, sections=("word2vec", "model", "train"))[
                custom_config_contract.SICOT_CONFIG],
            code_version=code_version(*STEP_CODE["word2vec"]),
        )
    trainer_class, cluster_custom_config = trainer_step(config)
    trainer = trainer_class(
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
        custom_config={**custom_config, **cluster_custom_config},
        word_vectors=word2vec.outputs["word_vectors"] if word2vec else None,
    )
    if trainer_class is not SicotTrainer:
        trainer = trainer.with_id(SicotTrainer.__name__)
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
                filesystem=tfx.proto.PushDestination.Filesystem(
                    base_directory=config.output_location("serving", config.pipeline.name))
            ),
        )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=config.output_location("pipeline"),
        components=[
            *gens,
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
        # A cluster (pipeline root in a bucket) has its own ML Metadata; TFX's SQLite
        # config would create the local folder gs:/... for the file.
        metadata_connection_config=None if config.output_is_url else
        tfx.orchestration.metadata.sqlite_metadata_connection_config(str(config.metadata_path)),
        beam_pipeline_args=list(config.pipeline.beam_pipeline_args),
    )
