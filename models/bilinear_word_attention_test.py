import numpy as np
import keras
import pytest
import tensorflow as tf

from models.bilinear_word_attention import BilinearWordAttention


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 5, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    return x, mask


def test_shapes_weights_sum_to_one_and_padding_gets_exactly_zero():
    x, mask = _inputs()
    layer = BilinearWordAttention(rank=4)
    embedding, weights = layer(x, mask=mask)
    assert embedding.shape == (3, 8) and weights.shape == (3, 5)
    w = np.asarray(weights)
    assert np.all(w[0, 3:] == 0.0)  # exactly zero, not just small
    np.testing.assert_allclose(w[:2].sum(axis=1), 1.0, rtol=1e-6)
    # A title with no words: zero weights and a zero embedding.
    assert np.all(w[2] == 0.0) and np.all(np.asarray(embedding)[2] == 0.0)
    # The embedding is the weighted sum of the words.
    np.testing.assert_allclose(np.asarray(embedding)[0], (w[0][:, None] * x[0]).sum(0), rtol=1e-5, atol=1e-6)


def test_padding_content_does_not_change_the_result():
    x, mask = _inputs()
    layer = BilinearWordAttention(rank=4)
    e1, w1 = layer(x, mask=mask)
    x2 = x.copy()
    x2[0, 3:] = 100.0  # garbage in padded positions
    e2, w2 = layer(x2, mask=mask)
    np.testing.assert_allclose(np.asarray(e1)[0], np.asarray(e2)[0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(w1)[0], np.asarray(w2)[0], rtol=1e-6)


def test_keras_mask_from_embedding_is_honoured():
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    inputs = keras.Input((4,), dtype="int32")
    embedded = keras.layers.Embedding(10, 6, mask_zero=True)(inputs)
    embedding, weights = BilinearWordAttention(rank=3)(embedded)
    model = keras.Model(inputs, [embedding, weights])
    _, w = model(ids)
    w = np.asarray(w)
    np.testing.assert_array_equal(w[:, 2:], 0.0)
    np.testing.assert_allclose(w[1, 0], 1.0)  # a single word takes all the weight


def test_word_order_is_ignored():
    x, mask = _inputs()
    layer = BilinearWordAttention(rank=4)
    e, w = layer(x[1:2], mask=mask[1:2])
    perm = [4, 2, 0, 3, 1]
    e_p, w_p = layer(x[1:2][:, perm], mask=mask[1:2][:, perm])
    np.testing.assert_allclose(np.asarray(e), np.asarray(e_p), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(w)[0, perm], np.asarray(w_p)[0], rtol=1e-5)


def test_parameter_count_is_2dk_plus_2():
    layer = BilinearWordAttention(rank=4)
    layer(*(_inputs()[:1]))
    assert layer.count_params() == 2 * 8 * 4 + 2


def test_gradients_reach_the_word_embeddings_and_the_projections():
    x, mask = _inputs()
    xv = tf.Variable(x)
    layer = BilinearWordAttention(rank=4)
    with tf.GradientTape() as tape:
        embedding, _ = layer(xv, mask=mask)
        loss = tf.reduce_sum(embedding**2)
    grads = tape.gradient(loss, [xv] + layer.trainable_weights)
    assert all(g is not None for g in grads)
    assert np.abs(grads[0].numpy()[0, :3]).sum() > 0
    assert np.all(grads[0].numpy()[0, 3:] == 0)  # nothing flows into padding
    assert np.abs(grads[1].numpy()).sum() > 0 and np.abs(grads[2].numpy()).sum() > 0


def test_serialisation_round_trip_gives_the_same_outputs(tmp_path):
    inputs = keras.Input((5, 8))
    mask_in = keras.Input((5,), dtype="bool")
    embedding, weights = BilinearWordAttention(rank=4, name="attn")(inputs, mask=mask_in)
    model = keras.Model([inputs, mask_in], [embedding, weights])
    x, mask = _inputs()
    before = model([x, mask])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    after = loaded([x, mask])
    for b, a in zip(before, after):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6)
    assert loaded.get_layer("attn").get_config()["rank"] == 4


def test_rank_must_be_positive():
    with pytest.raises(ValueError, match="rank must be positive"):
        BilinearWordAttention(rank=0)
