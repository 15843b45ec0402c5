"""Title encoders for the semantic stream (the paper's Table 3).

Each maps masked word embeddings [B, L, D] to a title embedding [B, D] and per-word
weights [B, L] (for encoders without word weights: uniform over the real words):

- ``mean``: masked mean of the word embeddings (the default since stop 45: the SKU
  benchmark's Table 3 at 64 epochs ranked it first on validation).
- ``bilstm``: a bidirectional LSTM, its states averaged over the real words.
- ``bilstm_attention``: self-attention over the BiLSTM states (additive scoring
  v^T tanh(W h_i), masked softmax), the weighted sum of states.
- ``bilinear_attention``: the SICoT bilinear word attention (the paper's, the default
  until stop 45 and the category sample's); see ``models/bilinear_word_attention.py``.

BiLSTM states have size 2 * (D // 2) = D for even D.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from models.bilinear_word_attention import BilinearWordAttention
from models.masked_softmax import masked_softmax

ENCODERS = ("mean", "bilstm", "bilstm_attention", "bilinear_attention")


def _uniform_weights(mask):
    m = ops.cast(mask, "float32")
    return m / ops.maximum(ops.sum(m, axis=1, keepdims=True), 1.0)


def _weighted_sum(weights, values):
    return ops.sum(weights[..., None] * values, axis=1)


@keras.saving.register_keras_serializable(package="sicot")
class MaskedMeanEncoder(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, embeddings, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(embeddings)[:2], dtype="bool")
        weights = _uniform_weights(mask)
        return _weighted_sum(weights, embeddings), weights

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="sicot")
class AdditiveSelfAttention(layers.Layer):
    """Scores v^T tanh(W h_i + c), masked softmax, weighted sum of h."""

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        self.hidden = layers.Dense(self.units, activation="tanh", name="hidden")
        self.hidden.build(input_shape)
        self.score = layers.Dense(1, use_bias=False, name="score")
        self.score.build((*input_shape[:-1], self.units))
        super().build(input_shape)

    def call(self, states, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(states)[:2], dtype="bool")
        scores = ops.squeeze(self.score(self.hidden(states)), -1)
        weights = masked_softmax(scores, mask)
        return _weighted_sum(weights, states), weights

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def encode_title(name: str, embeddings, mask, dim: int, attention_rank: int, attention_temperature: float = 1.0):
    """Applies the named encoder; returns ([B, dim] embedding, [B, L] weights)."""
    if name == "mean":
        return MaskedMeanEncoder(name="title_mean")(embeddings, mask=mask)
    if name == "bilinear_attention":
        return BilinearWordAttention(
            rank=attention_rank, initial_temperature=attention_temperature, name="bilinear_word_attention"
        )(embeddings, mask=mask)
    if name in ("bilstm", "bilstm_attention"):
        states = layers.Bidirectional(
            layers.LSTM(max(1, dim // 2), return_sequences=True), name="title_bilstm"
        )(embeddings, mask=mask)
        if name == "bilstm":
            return MaskedMeanEncoder(name="title_bilstm_mean")(states, mask=mask)
        return AdditiveSelfAttention(units=attention_rank, name="title_self_attention")(states, mask=mask)
    raise ValueError(f"unknown title encoder '{name}' (known: {', '.join(ENCODERS)})")
