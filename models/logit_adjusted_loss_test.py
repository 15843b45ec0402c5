import numpy as np
import pytest
import tensorflow as tf

from models.logit_adjusted_loss import loss_logit_offsets


def test_offsets_are_tau_log_prior():
    counts = np.array([80, 15, 5])
    np.testing.assert_allclose(loss_logit_offsets("logit_adjusted", counts, 0.5), 0.5 * np.log(counts / 100), rtol=1e-6)
    assert loss_logit_offsets("softmax", counts) is None


def test_balanced_softmax_is_the_logit_adjusted_loss_at_tau_one():
    counts = np.array([80, 15, 5, 0])  # a class without images counts as one
    balanced = loss_logit_offsets("balanced_softmax", counts, tau=3.0)  # its tau is fixed
    np.testing.assert_allclose(balanced, loss_logit_offsets("logit_adjusted", counts, 1.0))
    # Ren et al.: p(y|x) = n_y exp(z_y) / sum_j n_j exp(z_j), so its CE is CE of z + log n.
    z = np.array([[0.3, -1.0, 2.0, 0.1]], dtype=np.float32)
    n = np.maximum(counts, 1).astype(np.float32)
    p = n * np.exp(z) / np.sum(n * np.exp(z))
    ce = tf.keras.losses.sparse_categorical_crossentropy(np.array([2]), z + balanced, from_logits=True).numpy()[0]
    assert ce == pytest.approx(-np.log(p[0, 2]), rel=1e-5)


def test_a_head_class_must_beat_a_tail_class_by_a_margin():
    counts = np.array([99, 1])
    offsets = loss_logit_offsets("logit_adjusted", counts)
    # Equal logits: plain CE says 50/50; the adjusted loss sees the head class as the likely one,
    # so a tail example is penalised more and a head example less.
    z = np.zeros((1, 2), np.float32)
    tail_loss = tf.keras.losses.sparse_categorical_crossentropy(np.array([1]), z + offsets, from_logits=True).numpy()[0]
    head_loss = tf.keras.losses.sparse_categorical_crossentropy(np.array([0]), z + offsets, from_logits=True).numpy()[0]
    assert tail_loss > np.log(2) > head_loss


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown long_tail.loss 'focal'"):
        loss_logit_offsets("focal", np.array([1, 2]))
