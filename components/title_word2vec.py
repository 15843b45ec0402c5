"""The TitleWord2Vec pipeline step: word vectors learned from the training titles.

``TitleWord2Vec`` (a TFX Python-function component) reads the training split through
the Transform graph, so it sees exactly the title token ids the Trainer sees, trains
skip-gram word2vec on them (components/skipgram_word2vec.py) and writes a
``WordVectors`` artifact: ``embedding.npy`` [vocab_size + 1, dim], row-aligned with the
token ids (row 0 = padding), and ``words.txt`` (the layout: models/word_vectors.py).
The Trainer (components/sicot_trainer.py) can start its word embeddings from them.
"""

# No `from __future__ import annotations`: the @component decorator reads real type hints.
import os

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import types
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.skipgram_word2vec import train_skipgram
from models import features
from models.input_pipeline import transformed_examples
from models.word_vectors import EMBEDDING_FILE, WORDS_FILE
from sicot.config import SicotConfig
from sicot.console import detail


class WordVectors(types.Artifact):
    """Word vectors row-aligned with the Transform title token ids."""

    TYPE_NAME = "sicot.WordVectors"


@component
def TitleWord2Vec(
    examples: InputArtifact[standard_artifacts.Examples],
    transform_graph: InputArtifact[standard_artifacts.TransformGraph],
    word_vectors: OutputArtifact[WordVectors],
    sicot_config: Parameter[str],
    code_version: Parameter[str] = "",
):
    """code_version is not read: it is part of the execution's cache key, so that a
    change of the word2vec code reruns the step (tfx_pipeline.pipeline.code_version)."""
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
    # tf.io.gfile: the artifact's URI is a bucket (gs://...) on a cloud pipeline root.
    tf.io.gfile.makedirs(word_vectors.uri)
    with tf.io.gfile.GFile(os.path.join(word_vectors.uri, EMBEDDING_FILE), "wb") as f:
        np.save(f, vectors)
    with tf.io.gfile.GFile(os.path.join(word_vectors.uri, WORDS_FILE), "w") as f:
        f.write("\n".join(["<pad>"] + words) + "\n")
    detail(f"word2vec: {vectors.shape[0] - 1} words x {vectors.shape[1]} dims from {len(sequences)} titles")
