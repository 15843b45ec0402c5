import keras
import numpy as np
import tensorflow as tf

from models.row_gather_embedding import RowGatherEmbedding


def _pair():
    table = np.random.default_rng(0).normal(size=(7, 3)).astype("float32")
    init = keras.initializers.Constant(table)
    return (keras.layers.Embedding(7, 3, mask_zero=True, embeddings_initializer=init),
            RowGatherEmbedding(7, 3, mask_zero=True, embeddings_initializer=init, name="word_embedding"))


def test_same_rows_mask_and_gradient_as_keras_embedding():
    plain, gather = _pair()
    ids = tf.constant([[3, 1, 3, 0], [6, 0, 0, 0]], tf.int64)
    grads = []
    for layer in (plain, gather):
        with tf.GradientTape() as tape:
            out = layer(ids)
            loss = tf.reduce_sum(out * tf.range(1.0, 4.0))
        grads.append(tape.gradient(loss, layer.embeddings))
        np.testing.assert_array_equal(layer.compute_mask(ids).numpy(), ids.numpy() > 0)
    np.testing.assert_array_equal(plain(ids).numpy(), gather(ids).numpy())
    assert isinstance(grads[1], tf.IndexedSlices)  # rows only: what the row-sparse update reads
    np.testing.assert_allclose(tf.convert_to_tensor(grads[0]).numpy(), tf.convert_to_tensor(grads[1]).numpy())


def test_config_round_trip_keeps_the_class_and_the_weights_path():
    _, gather = _pair()
    gather.build((None, 4))
    again = RowGatherEmbedding.from_config(gather.get_config())
    assert isinstance(again, RowGatherEmbedding) and again.mask_zero and again.input_dim == 7
    assert gather.embeddings.path == "word_embedding/embeddings"
