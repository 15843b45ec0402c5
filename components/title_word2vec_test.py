"""TitleWord2Vec: its component interface, and its executor on a handful of titles.

The Transform output is a stub (no Beam run): a vocabulary and the title token ids the
Transform graph would give; the executor must read the train split through it, train
with the configured settings and write the artifact layout of models/word_vectors.py.
"""

import os
import types as pytypes

import numpy as np
import pytest
import tensorflow as tf
from tfx import types
from tfx.types import standard_artifacts

from components import title_word2vec
from components.title_word2vec import TitleWord2Vec, WordVectors
from models import custom_config as contract
from models import features
from models.word_vectors import EMBEDDING_FILE, WORDS_FILE, load_word_vectors
from sicot.config import load_config

WORDS = [b"shoe", b"red", b"caf\xc3\xa9", b"blue"]
TITLES = np.array([[1, 2, 0, 0], [1, 4, 3, 0], [2, 1, 0, 0], [3, 4, 1, 2]], dtype=np.int64)


def sicot_config(*settings) -> str:
    """The parameter as the pipeline writes it (tfx_pipeline/pipeline.py)."""
    config = load_config(None, settings)
    return contract.encode(config, sections=("word2vec", "model", "train"))[contract.SICOT_CONFIG]


class StubTransformOutput:
    opened = []

    def __init__(self, uri):
        StubTransformOutput.opened.append(uri)

    def vocabulary_by_name(self, name):
        assert name == features.WORD_VOCABULARY
        return list(WORDS)


@pytest.fixture()
def transform_stub(monkeypatch):
    """Records how the executor reads the examples; returns the stub's call log."""
    calls = {}
    StubTransformOutput.opened = []

    def transformed_examples(patterns, tft_output, materialized):
        calls.update(patterns=patterns, tft_output=tft_output, materialized=materialized)
        return tf.data.Dataset.from_tensor_slices(
            {features.TITLE_TOKEN_IDS: TITLES, features.LABEL_ID: np.arange(len(TITLES))})

    monkeypatch.setattr(title_word2vec, "tft", pytypes.SimpleNamespace(TFTransformOutput=StubTransformOutput))
    monkeypatch.setattr(title_word2vec, "transformed_examples", transformed_examples)
    return calls


def run_executor(tmp_path, parameter: str, vectors_uri: str | None = None) -> str:
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(tmp_path / "transform_graph")
    vectors = WordVectors()
    vectors.uri = vectors_uri or str(tmp_path / "word_vectors")
    executor = TitleWord2Vec.EXECUTOR_SPEC.executor_class()
    executor.Do({"examples": [examples], "transform_graph": [graph]}, {"word_vectors": [vectors]},
                {"sicot_config": parameter})
    return vectors.uri


def test_the_component_interface():
    assert WordVectors.TYPE_NAME == "sicot.WordVectors"
    spec = TitleWord2Vec.SPEC_CLASS
    assert {k: c.type for k, c in spec.INPUTS.items()} == {
        "examples": standard_artifacts.Examples, "transform_graph": standard_artifacts.TransformGraph}
    assert {k: c.type for k, c in spec.OUTPUTS.items()} == {"word_vectors": WordVectors}
    assert set(spec.PARAMETERS) == {"sicot_config", "code_version"}
    assert spec.PARAMETERS["sicot_config"].type is str and spec.PARAMETERS["code_version"].type is str
    component = TitleWord2Vec(examples=types.Channel(type=standard_artifacts.Examples),
                              transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
                              sicot_config="{}")
    assert component.id == "TitleWord2Vec"
    assert component.outputs["word_vectors"].type is WordVectors
    assert component.exec_properties == {"sicot_config": "{}"}


def test_trains_on_the_train_split_with_the_configured_settings(tmp_path, transform_stub, monkeypatch, capsys):
    trained = {}
    result = np.arange(5 * 6, dtype=np.float32).reshape(5, 6)

    def train_skipgram(sequences, **kwargs):
        trained.update(sequences=sequences, **kwargs)
        return result

    monkeypatch.setattr(title_word2vec, "train_skipgram", train_skipgram)
    uri = run_executor(tmp_path, sicot_config(
        "word2vec.dim=6", "word2vec.window=3", "word2vec.negatives=2", "word2vec.epochs=9", "train.seed=17"))

    assert StubTransformOutput.opened == [str(tmp_path / "transform_graph")]
    assert transform_stub["patterns"] == [os.path.join(str(tmp_path / "examples"), "Split-train", "*")]
    assert transform_stub["materialized"] is False
    assert isinstance(transform_stub["tft_output"], StubTransformOutput)
    np.testing.assert_array_equal(trained.pop("sequences"), TITLES)
    # Row 0 is padding: vocab_size is the number of words + 1.
    assert trained == dict(vocab_size=5, dim=6, window=3, negatives=2, epochs=9, seed=17)
    np.testing.assert_array_equal(load_word_vectors(uri), result)
    with open(os.path.join(uri, WORDS_FILE), encoding="utf-8") as f:
        assert f.read() == "<pad>\nshoe\nred\ncaf\u00e9\nblue\n"
    assert "word2vec: 4 words x 6 dims from 4 titles" in capsys.readouterr().out


def test_dim_0_means_the_feature_size(tmp_path, transform_stub, monkeypatch):
    dims = []
    monkeypatch.setattr(title_word2vec, "train_skipgram",
                        lambda sequences, **kw: dims.append(kw["dim"]) or np.zeros((5, kw["dim"]), np.float32))
    run_executor(tmp_path, sicot_config("word2vec.dim=0", "model.feature_dim=12"))
    assert dims == [12]


def test_real_training_writes_vectors_row_aligned_with_the_token_ids(tmp_path, transform_stub):
    uri = run_executor(tmp_path, sicot_config("word2vec.dim=4", "word2vec.epochs=1"))
    assert sorted(os.listdir(uri)) == sorted([EMBEDDING_FILE, WORDS_FILE])
    vectors = load_word_vectors(uri)
    assert vectors.shape == (len(WORDS) + 1, 4)
    assert np.all(vectors[0] == 0) and np.all(np.any(vectors[1:] != 0, axis=1))
    with open(os.path.join(uri, WORDS_FILE), encoding="utf-8") as f:
        assert len(f.read().splitlines()) == vectors.shape[0]


def test_the_vectors_go_to_the_artifacts_file_system_and_load_from_it(tmp_path, transform_stub, monkeypatch):
    """On a cloud pipeline root the artifact is a bucket's folder (gs://...): written and
    read through tf.io.gfile; TensorFlow's in-memory file system stands in for it."""
    result = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    monkeypatch.setattr(title_word2vec, "train_skipgram", lambda sequences, **kw: result)
    uri = run_executor(tmp_path, sicot_config("word2vec.dim=3"), vectors_uri=f"ram://{tmp_path.name}/word_vectors")
    assert sorted(tf.io.gfile.listdir(uri)) == sorted([EMBEDDING_FILE, WORDS_FILE])
    assert not (tmp_path / "word_vectors").exists() and not os.path.exists("ram:")
    np.testing.assert_array_equal(load_word_vectors(uri), result)
    with tf.io.gfile.GFile(os.path.join(uri, WORDS_FILE)) as f:
        assert f.read() == "<pad>\nshoe\nred\ncaf\u00e9\nblue\n"


def test_titles_without_word_pairs_fail_and_write_nothing(tmp_path, transform_stub, monkeypatch):
    # One known word per title: no (word, context) pair.
    monkeypatch.setitem(globals(), "TITLES", np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.int64))
    with pytest.raises(ValueError, match="no word pairs to train on"):
        run_executor(tmp_path, sicot_config())
    assert not (tmp_path / "word_vectors").exists()
