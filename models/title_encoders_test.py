"""The title encoders of the paper's Table 3, each on a padded batch."""

import keras
import numpy as np
import pytest

from models.title_encoders import ENCODERS, AdditiveSelfAttention, MaskedMeanEncoder, encode_title

B, L, D = 3, 5, 8


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(B, L, D)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    return embeddings, mask


@pytest.mark.parametrize("name", ENCODERS)
def test_every_encoder_ignores_padding_and_weights_real_words(name):
    embeddings, mask = _batch()
    inputs = keras.Input((L, D)), keras.Input((L,), dtype="bool")
    model = keras.Model(inputs, encode_title(name, inputs[0], inputs[1], dim=D, attention_rank=4))
    out, weights = (np.asarray(t) for t in model([embeddings, mask]))
    changed = embeddings.copy()
    changed[~mask] = 100.0  # what sits in the padding must not matter
    out2, weights2 = (np.asarray(t) for t in model([changed, mask]))
    assert out.shape[0] == B and weights.shape == (B, L)
    np.testing.assert_allclose(out, out2, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(weights[~mask], 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


def test_mean_encoder_is_the_mean_of_the_real_words():
    embeddings, mask = _batch()
    out, weights = MaskedMeanEncoder()(embeddings, mask=mask)
    np.testing.assert_allclose(np.asarray(out)[0], embeddings[0, :3].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out)[1], embeddings[1, 0], rtol=1e-5)


def test_additive_attention_config_round_trip():
    layer = AdditiveSelfAttention(units=7, name="att")
    clone = AdditiveSelfAttention.from_config(layer.get_config())
    assert clone.units == 7 and clone.name == "att"


def test_unknown_encoder_is_refused():
    embeddings, mask = _batch()
    with pytest.raises(ValueError, match="unknown title encoder 'gru'"):
        encode_title("gru", embeddings, mask, dim=D, attention_rank=4)
