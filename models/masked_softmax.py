"""Softmax over the real words of a padded title: padding gets exactly 0.

    a_i = m_i exp(s_i - max_j{m_j=1} s_j) / max(sum_j m_j exp(s_j - max), 1e-12)

``scores`` [B, L], ``mask`` [B, L] (bool or 0/1). The shift by the row maximum over the
real words keeps exp() finite; a title with no real word gets all-zero weights (the
1e-12 floor), not NaN. Used by the bilinear word attention and the BiLSTM attention.
"""

from __future__ import annotations

from keras import ops


def masked_softmax(scores, mask):
    m = ops.cast(mask, scores.dtype)
    masked = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
    exp = ops.exp(masked - ops.max(masked, axis=1, keepdims=True)) * m
    return exp / ops.maximum(ops.sum(exp, axis=1, keepdims=True), 1e-12)
