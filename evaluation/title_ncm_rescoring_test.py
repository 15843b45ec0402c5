"""Title class means: the title embedding rebuilt from the exported variables equals the
semantic stream's own (models/sicot_model.build_semantic_stream), and the methods apply
to co-trained models only (a trained model end to end in
tests/evaluation_report_e2e_test.py)."""

import numpy as np
import pytest

from evaluation import rescoring
from evaluation import title_ncm_rescoring as title_ncm
from models.sicot_model import build_semantic_stream
from sicot.config import load_config
from tests.model_results import model_result

VOCAB, TOKENS, DIM = 9, 5, 6


@pytest.mark.parametrize("encoder", title_ncm.WEIGHTED_SUM_ENCODERS)
@pytest.mark.parametrize("pretrained", [False, True])
@pytest.mark.parametrize("project", [False, True])
def test_the_title_embedding_from_the_variables_is_the_semantic_streams(encoder, pretrained, project):
    config = load_config(None, [f"model.title_encoder={encoder}", f"model.feature_dim={DIM}",
                                f"preprocessing.max_title_tokens={TOKENS}", "model.attention_rank=3",
                                f"model.project_words={str(project).lower()}"])
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(VOCAB, 4)).astype("float32") if pretrained else None
    stream = build_semantic_stream(config, VOCAB, vectors)
    for weight in stream.weights:  # attention scores spread out (temperature 8, no saturated tanh)
        scale = 0.3 if weight.path.startswith("bilinear_word_attention/") else 1.0
        value = 8.0 if weight.path.endswith("temperature") else scale * rng.normal(size=weight.shape)
        weight.assign(np.asarray(value, dtype="float32"))
    ids = rng.integers(1, VOCAB, (4, TOKENS)).astype("int64")
    ids[0, 2:] = 0
    ids[1, 4:] = 0
    ids[3, :] = 0  # no title
    expected, weights = (t.numpy() for t in stream(ids, training=False))
    variables = {w.path: w.numpy().astype(np.float64) for w in stream.weights}
    assert ("word_projection/kernel" in variables) == (pretrained or project)
    got = title_ncm.title_embedding(title_ncm.word_vectors(variables), ids, weights.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(expected[:3]).max() > 0.1 and np.all(got[3] == 0)
    if encoder == "bilinear_attention":
        assert np.std(weights[1, :4]) > 1e-3  # the weights were not uniform: the test saw the attention


def test_title_methods_apply_to_co_trained_models_only():
    baseline, sicot = model_result(False, 1).config, model_result(True, 1).config
    assert rescoring.rescored_names([baseline, sicot], ["ncm", "title_ncm", "ncm_title"]) == [
        "baseline+ncm", "sicot-mean+ncm", "sicot-mean+title_ncm",
        "sicot-mean+ncm_title"]
    with pytest.raises(ValueError, match="a visual-only model has no title stream"):
        title_ncm.rescored(model_result(False, 1))
    lstm = model_result(True, 1)
    lstm.config.model.title_encoder = "bilstm"
    with pytest.raises(ValueError, match="title encoder bilstm is not a weighted sum of word vectors"):
        title_ncm.rescored(lstm)
    with pytest.raises(ValueError, match="unknown title re-scoring 'x'"):
        title_ncm.rescored(model_result(True, 1), "x")
    with pytest.raises(ValueError, match="already re-balanced"):
        title_ncm.rescored(model_result(True, 1, "posthoc"))


def test_a_split_s_title_embeddings_are_read_once_per_loaded_model(monkeypatch):
    # title_ncm, ncm_title and crt_mixed of one model ask for the same training split.
    loaded = {"model": object()}
    reads = []

    def embedded(model, model_dir, examples_dir, batch):
        reads.append((model, examples_dir))
        return np.full((2, 3), float(len(reads))), np.array([True, False])

    monkeypatch.setattr(title_ncm, "evaluation_model", lambda model_dir: loaded["model"])
    monkeypatch.setattr(title_ncm, "_embedded_titles", embedded)
    monkeypatch.setattr(title_ncm, "_last_embedded", [])
    first, titled = title_ncm.title_embeddings("m", "train")
    first[:] = -1.0  # a caller's edit does not reach the kept copy
    titled[:] = True
    again, titled_again = title_ncm.title_embeddings("m", "train")
    assert len(reads) == 1 and np.all(again == 1.0) and titled_again.tolist() == [True, False]
    title_ncm.title_embeddings("m", "eval")  # another split is read
    title_ncm.title_embeddings("m", "eval")
    loaded["model"] = object()  # a reload (another model) reads again
    title_ncm.title_embeddings("m", "eval")
    assert [folder for _, folder in reads] == ["train", "eval", "eval"]
