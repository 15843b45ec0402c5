"""Bilinear word attention: one weight per title word from its interaction with the title.

The SICoT paper (Sec. 3.3) scores each word of a noisy title by a bilinear interaction
between the word and a global context of the title, pools the resulting second-order
feature map and applies a nonlinearity. The paper gives the shape of the computation,
not the matrices; this layer implements exactly:

    inputs   e_1..e_L in R^D (word embeddings), mask m_i in {0, 1}
    context  g   = sum_i m_i e_i / max(1, sum_i m_i)            (order ignored)
    map      z_i = (U^T g) * (V^T e_i)  in R^K                 (U, V in R^{D x K})
    pool     p_i = (1/K) sum_k z_ik                              (average pooling)
    score    s_i = tau * tanh(p_i + b)
    weights  a_i = m_i exp(s_i) / sum_j m_j exp(s_j)             (masked softmax)
    output   s   = sum_i a_i e_i

Why this form: the full bilinear map g e_i^T in R^{D x D} weighted by W and average-
pooled equals g^T W e_i / D^2, a bilinear form with D^2 parameters (4.2M at D = 2048).
Factoring W = U V^T (rank K) keeps the second-order interaction, costs 2DK parameters
and O(LDK) time, and the elementwise product z_i is that factored feature map (the
low-rank bilinear pooling of Kim et al., 2017). tanh bounds the score, a learned
temperature tau (initialised to ``initial_temperature``, default 1) lets the attention
sharpen: with |tanh| <= 1 two words' weights differ at most by a factor exp(2 tau), so
tau = 1 caps the contrast at 7.4 until tau has grown.

Parameters: 2 * D * K + 2 (U, V, b, tau); e.g. D = 256, K = 64: 32,770.

Padding gets exactly zero weight; a title with no word at all gets all-zero weights
and a zero embedding (callers mask its loss). The layer honours an incoming Keras mask
(from ``Embedding(mask_zero=True)``) or an explicit ``mask`` argument.
"""

from __future__ import annotations

import keras
from keras import ops

from models.masked_softmax import masked_softmax


@keras.saving.register_keras_serializable(package="sicot")
class BilinearWordAttention(keras.layers.Layer):
    """[B, L, D] word embeddings (+ [B, L] mask) -> ([B, D] embedding, [B, L] weights)."""

    def __init__(self, rank: int = 64, initial_temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if rank < 1:
            raise ValueError(f"rank must be positive, got {rank}")
        self.rank = rank
        self.initial_temperature = initial_temperature
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        self.context_projection = self.add_weight(
            name="context_projection", shape=(dim, self.rank), initializer="glorot_uniform"
        )
        self.word_projection = self.add_weight(
            name="word_projection", shape=(dim, self.rank), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")
        self.temperature = self.add_weight(
            name="temperature", shape=(), initializer=keras.initializers.Constant(self.initial_temperature)
        )
        super().build(input_shape)

    def call(self, embeddings, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(embeddings)[:2], dtype="bool")
        m = ops.cast(mask, embeddings.dtype)  # [B, L]
        count = ops.maximum(ops.sum(m, axis=1, keepdims=True), 1.0)  # [B, 1]
        context = ops.sum(embeddings * m[..., None], axis=1) / count  # [B, D]
        g = ops.matmul(context, self.context_projection)  # [B, K]
        e = ops.matmul(embeddings, self.word_projection)  # [B, L, K]
        pooled = ops.mean(e * g[:, None, :], axis=-1)  # [B, L]
        scores = self.temperature * ops.tanh(pooled + self.bias)
        weights = masked_softmax(scores, m)
        embedding = ops.sum(weights[..., None] * embeddings, axis=1)
        return embedding, weights

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), (input_shape[0], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "rank": self.rank, "initial_temperature": self.initial_temperature}
