"""SGD with momentum that updates only the rows a step reads of a table (``train.row_sparse_updates``).

For a variable whose gradient is a ``tf.IndexedSlices`` (a step's gradient has a row
for each row the step gathered: the title word embedding's words, the sampled title
word head's words, and with partial FC the biases of a shard's sampled classes), with
the step's rows R (duplicates summed) and g_r their gradient:

    m_r <- momentum * m_r - lr * g_r           r in R
    w_r <- w_r + m_r                           (Nesterov: w_r + momentum * m_r - lr * g_r)

and every other row, its value and its momentum, is left as it is. Every other variable
gets Keras' SGD update unchanged.

Why: Keras' SGD turns that gradient into a dense [V, E] tensor and decays and applies the
momentum of every row each step, read or not: at catalogue-size title vocabularies (the
paper's run to 345,000 words) that update, not the model, is what a co-training step
costs over the visual-only one (README, "Co-training step cost"). Updating the read rows
only is what TensorFlow 1's ``MomentumOptimizer`` did with such gradients (its sparse
apply) and what TF Addons' ``LazyAdam`` does. It is not the same optimizer: a word's
momentum no longer carries it on through the steps whose titles lack it. So it is an
option (off by default; every measured model used Keras' SGD), not a silent speed-up.

Parameters: none (the momentum slots are SGD's own, so a checkpoint of one restores
into the other).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sicot")
class RowSparseSGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` whose momentum update of an IndexedSlices gradient touches its rows only."""

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices) or self.momentum == 0:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        rows, position = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), position, tf.shape(rows)[0])
        lr = tf.cast(learning_rate, dtype)
        momentum = tf.cast(self.momentum, dtype)
        m = self.momentums[self._get_variable_index(variable)]
        m_rows = tf.gather(m.value, rows) * momentum - values * lr
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        step = m_rows * momentum - values * lr if self.nesterov else m_rows
        self.assign_add(variable, tf.IndexedSlices(step, rows))
