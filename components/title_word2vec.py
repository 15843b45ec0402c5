"""The TitleWord2Vec pipeline step and the Trainer that can start from its vectors.

``TitleWord2Vec`` (a TFX Python-function component) reads the training split through
the Transform graph, so it sees exactly the title token ids the Trainer sees, trains
skip-gram word2vec on them (components/skipgram_word2vec.py) and writes a
``WordVectors`` artifact: ``embedding.npy`` [vocab_size + 1, dim], row-aligned with the
token ids (row 0 = padding), and ``words.txt``.

``SicotTrainer`` is TFX's generic Trainer (same spec, same executor, same ``run_fn``)
with one more optional input channel, ``word_vectors``; its executor hands the
artifact's URI to ``run_fn`` as ``custom_config["word_vectors_uri"]``.
"""

# No `from __future__ import annotations`: the @component decorator reads real type hints.
import os
from typing import Any

import numpy as np
from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

EMBEDDING_FILE = "embedding.npy"
WORD_VECTORS_URI = "word_vectors_uri"


class WordVectors(types.Artifact):
    """Word vectors row-aligned with the Transform title token ids."""

    TYPE_NAME = "sicot.WordVectors"


def load_word_vectors(uri: str) -> np.ndarray:
    return np.load(os.path.join(uri, EMBEDDING_FILE))


@component
def TitleWord2Vec(
    examples: InputArtifact[standard_artifacts.Examples],
    transform_graph: InputArtifact[standard_artifacts.TransformGraph],
    word_vectors: OutputArtifact[WordVectors],
    sicot_config: Parameter[str],
):
    import tensorflow_transform as tft

    from components.skipgram_word2vec import train_skipgram
    from models import features
    from models.trainer import transformed_examples
    from sicot.config import SicotConfig

    config = SicotConfig.from_json(sicot_config)
    tft_output = tft.TFTransformOutput(transform_graph.uri)
    dataset = transformed_examples(
        [os.path.join(examples.uri, "Split-train", "*")], tft_output, materialized=False
    ).map(lambda f: f[features.TITLE_TOKEN_IDS])
    sequences = np.stack(list(dataset.as_numpy_iterator()))
    words = [w.decode("utf-8") for w in tft_output.vocabulary_by_name(features.WORD_VOCABULARY)]
    w2v = config.word2vec
    vectors = train_skipgram(
        sequences,
        vocab_size=len(words) + 1,
        dim=w2v.dim or config.model.feature_dim,
        window=w2v.window,
        negatives=w2v.negatives,
        epochs=w2v.epochs,
        seed=config.train.seed,
    )
    os.makedirs(word_vectors.uri, exist_ok=True)
    np.save(os.path.join(word_vectors.uri, EMBEDDING_FILE), vectors)
    with open(os.path.join(word_vectors.uri, "words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(["<pad>"] + words) + "\n")
    print(f"    word2vec: {vectors.shape[0] - 1} words x {vectors.shape[1]} dims from {len(sequences)} titles",
          flush=True)


class SicotTrainerSpec(standard_component_specs.TrainerSpec):
    INPUTS = {
        **standard_component_specs.TrainerSpec.INPUTS,
        "word_vectors": ChannelParameter(type=WordVectors, optional=True),
    }


class SicotTrainerExecutor(trainer_executor.GenericExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict, exec_properties: dict[str, Any]):
        vectors = input_dict.get("word_vectors") or []
        if vectors:
            custom = json_utils.loads(exec_properties.get("custom_config") or "null") or {}
            custom[WORD_VECTORS_URI] = vectors[0].uri
            exec_properties = {**exec_properties, "custom_config": json_utils.dumps(custom)}
        return super().Do(input_dict, output_dict, exec_properties)


class SicotTrainer(base_component.BaseComponent):
    """The generic Trainer with an optional ``word_vectors`` input."""

    SPEC_CLASS = SicotTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(SicotTrainerExecutor)

    def __init__(
        self,
        examples: types.BaseChannel,
        transform_graph: types.BaseChannel,
        schema: types.BaseChannel,
        run_fn: str,
        train_args,
        eval_args,
        custom_config: dict[str, Any],
        word_vectors: types.BaseChannel | None = None,
    ):
        spec = SicotTrainerSpec(
            examples=examples,
            transform_graph=transform_graph,
            schema=schema,
            train_args=train_args,
            eval_args=eval_args,
            run_fn=run_fn,
            custom_config=json_utils.dumps(custom_config),
            model=types.Channel(type=standard_artifacts.Model),
            model_run=types.Channel(type=standard_artifacts.ModelRun),
            word_vectors=word_vectors,
        )
        super().__init__(spec=spec)
