import keras
import numpy as np
import pytest
import tensorflow as tf

from training.row_sparse_sgd import RowSparseSGD


def _step(optimizer, table, dense, rows):
    """One update from a loss that reads ``rows`` of ``table`` (an IndexedSlices gradient) and all of ``dense``."""
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, rows) ** 2) + tf.reduce_sum(dense * 3.0)
    grads = tape.gradient(loss, [table, dense])
    assert isinstance(grads[0], tf.IndexedSlices)
    optimizer.apply_gradients(zip(grads, [table, dense]))


@pytest.mark.parametrize("nesterov", [False, True])
def test_read_rows_get_sgds_update_and_the_others_keep_value_and_momentum(nesterov):
    start = np.arange(12, dtype="float32").reshape(6, 2) / 10
    lazy_table, lazy_dense = keras.Variable(start), keras.Variable(np.ones(3, "float32"))
    sgd_table, sgd_dense = keras.Variable(start), keras.Variable(np.ones(3, "float32"))
    lazy = RowSparseSGD(0.1, momentum=0.9, nesterov=nesterov)
    sgd = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov)
    # Step 1 reads rows 1 and 4 (4 twice: the duplicates' gradients add up); step 2 row 1 only.
    for rows in ([1, 4, 4], [1]):
        _step(lazy, lazy_table, lazy_dense, tf.constant(rows))
        _step(sgd, sgd_table, sgd_dense, tf.constant(rows))
    lazy_v, sgd_v = lazy_table.numpy(), sgd_table.numpy()
    np.testing.assert_array_equal(lazy_v[[0, 2, 3, 5]], start[[0, 2, 3, 5]])  # never read: untouched
    np.testing.assert_allclose(lazy_v[1], sgd_v[1], rtol=1e-6)  # read at every step: SGD's own update
    # Row 4, read at step 1 only: Keras' SGD moves it again at step 2 by its momentum, the lazy update does not.
    assert not np.allclose(sgd_v[4], lazy_v[4])
    after_one = keras.Variable(start)
    _step(RowSparseSGD(0.1, momentum=0.9, nesterov=nesterov), after_one, keras.Variable(np.ones(3, "float32")),
          tf.constant([1, 4, 4]))
    np.testing.assert_allclose(lazy_v[4], after_one.numpy()[4], rtol=1e-6)
    np.testing.assert_allclose(lazy_v[4], start[4] - (1.9 if nesterov else 1.0) * 0.1 * 2 * 2 * start[4], rtol=1e-5)
    np.testing.assert_allclose(lazy_dense.numpy(), sgd_dense.numpy(), rtol=1e-6)  # dense gradients: SGD unchanged
    momentum = lazy.momentums[0].numpy()
    np.testing.assert_array_equal(momentum[[0, 2, 3, 5]], 0.0)


def test_it_saves_and_restores_as_keras_sgd_does():
    optimizer = RowSparseSGD(0.05, momentum=0.7)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again, RowSparseSGD) and again.momentum == pytest.approx(0.7)
