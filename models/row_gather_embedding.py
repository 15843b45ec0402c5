"""A word embedding whose lookup reads only the rows it gathers.

    RowGatherEmbedding(V, E)(ids) = Embedding(V, E)(ids)        same values, same gradient

Keras' ``Embedding`` looks rows up with ``ops.take``, which first reads the whole [V, E]
table as a tensor. Its gradient is still a set of rows, but an optimizer that then
updates those rows in place (training/row_sparse_sgd.py) finds the table's buffer shared
with that read and copies all of it each step: at 100,000 words x 256 that copy, not the
update, made a step 50 times slower than the rows' own work (bench/cotraining_step_time.py,
README "Co-training step cost"). This layer gathers from the variable itself
(``tf.nn.embedding_lookup`` on its resource), so a step reads and writes only the rows
its titles hold.

Used for the title word embedding when ``train.row_sparse_updates`` is on; with Keras'
dense SGD update, which rewrites every row anyway, the plain ``Embedding`` measured
faster, and stays. Parameters: V x E, as ``Embedding``.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sicot")
class RowGatherEmbedding(keras.layers.Embedding):
    """``keras.layers.Embedding`` (mask included) whose lookup is a gather on the table variable."""

    def call(self, inputs):
        if inputs.dtype not in (tf.int32, tf.int64):
            inputs = tf.cast(inputs, tf.int32)
        outputs = tf.nn.embedding_lookup(self.embeddings.value, inputs)
        return tf.cast(outputs, self.compute_dtype)
