import keras
import numpy as np
import pytest
import tensorflow as tf

from models.mixed_stream import MixedStream

VISUAL = np.array([[1.0, 0.0, 2.0, 0.5]], dtype=np.float32)
SEMANTIC = np.array([[4.0, 3.0, 0.0, 1.0]], dtype=np.float32)


def test_the_papers_max_and_the_share_of_title_dimensions():
    mixed, share = MixedStream()(VISUAL, SEMANTIC)
    np.testing.assert_allclose(mixed, [[4.0, 3.0, 2.0, 1.0]])
    assert float(share[0]) == pytest.approx(0.75)


def test_visual_norm_meets_the_streams_at_the_visual_scale():
    mixed, share = MixedStream("visual_norm")(VISUAL, SEMANTIC)
    scale = np.linalg.norm(VISUAL) / np.linalg.norm(SEMANTIC)
    np.testing.assert_allclose(mixed, np.maximum(VISUAL, SEMANTIC * scale), rtol=1e-6)
    assert float(share[0]) == pytest.approx(0.5)  # 1.75 > 1.0 and 1.31 > 0, not 0.44 < 0.5


def test_the_rescaling_passes_no_gradient_through_the_norms():
    visual, semantic = tf.constant(VISUAL), tf.constant(SEMANTIC)
    with tf.GradientTape() as tape:
        tape.watch([visual, semantic])
        mixed, _ = MixedStream("visual_norm")(visual, semantic)
        loss = tf.reduce_sum(mixed)
    g_visual, g_semantic = tape.gradient(loss, [visual, semantic])
    scale = np.linalg.norm(VISUAL) / np.linalg.norm(SEMANTIC)
    # Gradient flows to whichever stream won each dimension, nowhere else.
    np.testing.assert_allclose(g_visual, [[0.0, 0.0, 1.0, 1.0]])
    np.testing.assert_allclose(g_semantic, [[scale, scale, 0.0, 0.0]], rtol=1e-6)


def test_without_visual_gradient_the_mixed_loss_leaves_the_backbone_alone():
    visual, semantic = tf.constant(VISUAL), tf.constant(SEMANTIC)
    with tf.GradientTape() as tape:
        tape.watch([visual, semantic])
        mixed, _ = MixedStream(visual_gradient=False)(visual, semantic)
        loss = tf.reduce_sum(mixed)
    g_visual, g_semantic = tape.gradient(loss, [visual, semantic])
    assert g_visual is None or not np.any(g_visual)
    np.testing.assert_allclose(g_semantic, [[1.0, 1.0, 0.0, 1.0]])
    np.testing.assert_allclose(mixed, [[4.0, 3.0, 2.0, 1.0]])  # the forward value is unchanged


def test_config_round_trip_and_bad_scaling():
    layer = MixedStream("visual_norm", visual_gradient=False, name="mix")
    clone = MixedStream.from_config(layer.get_config())
    assert clone.scaling == "visual_norm" and clone.name == "mix" and not clone.visual_gradient
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)).scaling == "visual_norm"
    with pytest.raises(ValueError, match="unknown model.mixed_stream_scaling"):
        MixedStream("softmax")
