import numpy as np
import pytest
import tensorflow as tf

from models.mixed_stream_distillation import distillation_loss


def test_is_t_squared_times_the_kl_divergence_of_the_softened_heads():
    visual = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], "float32")
    mixed = np.array([[0.0, 3.0, 0.0], [1.0, -1.0, 0.0]], "float32")
    for t in (1.0, 2.0, 4.0):
        p = np.exp(mixed / t) / np.exp(mixed / t).sum(-1, keepdims=True)
        q = np.exp(visual / t) / np.exp(visual / t).sum(-1, keepdims=True)
        expected = t**2 * (p * np.log(p / q)).sum(-1)
        np.testing.assert_allclose(distillation_loss(visual, mixed, t).numpy(), expected, rtol=1e-5)


def test_is_zero_where_the_heads_agree_and_positive_elsewhere():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]], "float32")
    np.testing.assert_allclose(distillation_loss(logits, logits, 2.0).numpy(), [0.0, 0.0], atol=1e-6)
    # A constant shift of the logits is the same distribution.
    np.testing.assert_allclose(distillation_loss(logits + 7.0, logits, 2.0).numpy(), [0.0, 0.0], atol=1e-5)
    assert (distillation_loss(logits[::-1], logits, 2.0).numpy() > 0.01).all()


def test_the_mixed_head_is_a_fixed_target():
    visual = tf.Variable([[1.0, 0.0, -1.0]])
    mixed = tf.Variable([[0.0, 2.0, 0.0]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(distillation_loss(visual, mixed, 2.0))
    g_visual, g_mixed = tape.gradient(loss, [visual, mixed])
    assert g_mixed is None
    # d/dz_v of T^2 KL = T (q - p): the student moves towards the teacher's class.
    p = tf.nn.softmax(mixed / 2.0).numpy()
    q = tf.nn.softmax(visual / 2.0).numpy()
    np.testing.assert_allclose(g_visual.numpy(), 2.0 * (q - p), rtol=1e-5)
    assert g_visual.numpy()[0, 1] < 0


def test_sharded_logits_give_the_loss_of_the_whole_row():
    rng = np.random.default_rng(0)
    visual = rng.normal(size=(3, 7)).astype("float32")
    mixed = rng.normal(size=(3, 7)).astype("float32") * 3
    whole = distillation_loss(visual, mixed, 2.0).numpy()
    split = distillation_loss([visual[:, :3], visual[:, 3:]], [mixed[:, :3], mixed[:, 3:]], 2.0).numpy()
    np.testing.assert_allclose(split, whole, rtol=1e-5)
    assert (whole > 0).all()


def test_refuses_a_temperature_that_is_not_positive():
    with pytest.raises(ValueError, match="mixed_distillation_temperature"):
        distillation_loss(np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32"), 0.0)
