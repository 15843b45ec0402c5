import numpy as np
import pytest
import tensorflow as tf

from models.stream_alignment import alignment_loss


def test_zero_when_aligned_two_when_opposite_scale_free():
    v = tf.constant([[1.0, 2.0, 0.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    s = tf.constant([[2.0, 4.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    np.testing.assert_allclose(alignment_loss(v, s).numpy(), [0.0, 2.0, 1.0], atol=1e-6)


def test_only_the_visual_stream_learns_from_it():
    v, s = tf.constant([[1.0, 0.5]]), tf.constant([[0.2, 1.0]])
    with tf.GradientTape() as tape:
        tape.watch([v, s])
        loss = tf.reduce_sum(alignment_loss(v, s))
    g_v, g_s = tape.gradient(loss, [v, s])
    assert np.abs(g_v.numpy()).sum() > 0
    assert g_s is None or not np.any(g_s.numpy())
    # A step along -grad brings x_v closer to s's direction.
    assert float(alignment_loss(v - 0.1 * g_v, s)[0]) < float(loss)


def test_the_visual_target_teaches_the_title_stream_instead():
    v, s = tf.constant([[1.0, 0.5]]), tf.constant([[0.2, 1.0]])
    for target, learns_v, learns_s in (("visual", False, True), ("both", True, True)):
        with tf.GradientTape() as tape:
            tape.watch([v, s])
            loss = tf.reduce_sum(alignment_loss(v, s, target))
        g_v, g_s = tape.gradient(loss, [v, s])
        assert (g_v is not None and np.abs(g_v.numpy()).sum() > 0) == learns_v
        assert (g_s is not None and np.abs(g_s.numpy()).sum() > 0) == learns_s
    with pytest.raises(ValueError, match="unknown model.stream_alignment_target"):
        alignment_loss(v, s, "text")
