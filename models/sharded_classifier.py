"""The shared classifier split by class into N shards (the paper's model-parallel FC).

Shard i holds the weight columns of classes [o_i, o_i + C_i): a kernel [D, C_i] and a
bias [C_i], created on its own device when devices are given (``/GPU:i``,
``/job:ps/task:i``, a logical CPU). Each shard computes its own logits
l_i = x W_i + b_i [B, C_i] on its device; nothing below concatenates them during
training. The softmax cross-entropy is combined from per-shard reductions:

    m   = max_i max_c l_i[:, c]                       (global max of the shard maxima)
    S   = sum_i sum_c exp(l_i[:, c] - m)              (each shard sums its own exps)
    lse = m + log S                                   (= log sum_c exp(l[:, c]), stable)
    CE  = lse - l_owner[:, y - o_owner]               (the label logit from its shard)

so only [B]-sized vectors cross devices. Top-k merges per-shard top-k: each shard
returns its k best (logit, class id) pairs, the k best of those N*k are the global top
k, and their probabilities are exp(logit - lse).

``call(x)`` returns the full logits [B, C] (evaluation, TFMA's probabilities); the
training loss and the serving top-k never need them.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from models.cosine_classifier import margin_logits


def shard_sizes(num_classes: int, num_shards: int) -> list[int]:
    """Contiguous, nearly equal class ranges: the first C mod N shards get one more."""
    if num_shards < 1:
        raise ValueError(f"the classifier needs at least one shard, got {num_shards}")
    if num_shards > num_classes:
        raise ValueError(f"{num_shards} classifier shards for only {num_classes} classes: each shard needs a class")
    base, extra = divmod(num_classes, num_shards)
    return [base + (i < extra) for i in range(num_shards)]


def shard_offsets(sizes: list[int]) -> list[int]:
    offsets, start = [], 0
    for size in sizes:
        offsets.append(start)
        start += size
    return offsets


def on_device(device: str | None):
    return tf.device(device) if device else contextlib.nullcontext()


def contiguous_label_positions(labels: tf.Tensor, sizes: list[int]) -> list[tf.Tensor]:
    """For each shard, every label's column in that shard, or -1 where another shard owns it."""
    labels = tf.cast(labels, tf.int64)
    positions = []
    for offset, size in zip(shard_offsets(sizes), sizes):
        local = labels - offset
        positions.append(tf.where((local >= 0) & (local < size), local, tf.constant(-1, tf.int64)))
    return positions


def sharded_log_sum_exp(shard_logits: list[tf.Tensor], devices: list[str | None] | None = None) -> tf.Tensor:
    """log sum_c exp(logits[:, c]) over all shards' columns, [B], without concatenating them."""
    devices = devices or [None] * len(shard_logits)
    maxima = []
    for logits, device in zip(shard_logits, devices):
        with on_device(device):
            maxima.append(tf.reduce_max(logits, axis=1))
    # The max only shifts the exponent for stability; the result's gradient does not depend on it.
    global_max = tf.stop_gradient(tf.reduce_max(tf.stack(maxima, axis=1), axis=1))
    sums = []
    for logits, device in zip(shard_logits, devices):
        with on_device(device):
            sums.append(tf.reduce_sum(tf.exp(logits - global_max[:, None]), axis=1))
    return global_max + tf.math.log(tf.add_n(sums))


def sharded_softmax_cross_entropy(
    shard_logits: list[tf.Tensor], label_positions: list[tf.Tensor], devices: list[str | None] | None = None
) -> tf.Tensor:
    """Per-example softmax cross-entropy [B] over the union of the shards' columns.

    label_positions[i]: each label's column in shard i, -1 where shard i does not hold it
    (exactly one shard holds each label).
    """
    devices = devices or [None] * len(shard_logits)
    label_logits = []
    for logits, positions, device in zip(shard_logits, label_positions, devices):
        with on_device(device):
            gathered = tf.gather(logits, tf.maximum(positions, 0), axis=1, batch_dims=1)
            label_logits.append(tf.where(positions >= 0, gathered, tf.zeros_like(gathered)))
    return sharded_log_sum_exp(shard_logits, devices) - tf.add_n(label_logits)


def merge_top_k(
    shard_logits: list[tf.Tensor],
    shard_class_ids: list[tf.Tensor],
    k: int,
    devices: list[str | None] | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """(logits [B, k'], class ids [B, k']) of the k best columns over all shards, best first.

    shard_class_ids[i] [C_i]: the global class id of each of shard i's columns.
    k' = min(k, total columns).
    """
    devices = devices or [None] * len(shard_logits)
    values, ids = [], []
    for logits, class_ids, device in zip(shard_logits, shard_class_ids, devices):
        with on_device(device):
            top = tf.math.top_k(logits, k=tf.minimum(k, tf.shape(logits)[1]))
            values.append(top.values)
            ids.append(tf.gather(tf.cast(class_ids, tf.int64), top.indices))
    values, ids = tf.concat(values, axis=1), tf.concat(ids, axis=1)
    best = tf.math.top_k(values, k=tf.minimum(k, tf.shape(values)[1]))
    return best.values, tf.gather(ids, best.indices, batch_dims=1)


@keras.saving.register_keras_serializable(package="sicot")
class ShardedClassifier(keras.layers.Layer):
    """A Dense layer over `units` classes whose kernel and bias are split by class into shards.

    devices: one device per shard (or empty: TensorFlow/the distribution strategy places
    the variables).
    """

    def __init__(
        self,
        units: int,
        num_shards: int,
        devices: list[str] | tuple[str, ...] = (),
        kernel_initializer=None,
        kernel_regularizer=None,
        normalized: bool = False,
        scale: float = 16.0,
        margin: float = 0.0,
        margin_type: str = "cosface",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.num_shards = num_shards
        # normalized: the cosine classifier (models/cosine_classifier.py), each shard
        # normalising its own columns; the biases are then not trained.
        self.normalized = normalized
        self.scale = scale
        self.margin = margin
        self.margin_type = margin_type
        self.sizes = shard_sizes(units, num_shards)
        self.offsets = shard_offsets(self.sizes)
        if devices and len(devices) != num_shards:
            raise ValueError(f"{len(devices)} classifier devices for {num_shards} shards: give one per shard")
        self.devices = list(devices)
        self.kernel_initializer = keras.initializers.get(kernel_initializer) if kernel_initializer else None
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        # Explicit placement and the per-step shapes of partial FC are no XLA cluster.
        self.supports_jit = False

    @property
    def shard_devices(self) -> list[str | None]:
        return self.devices or [None] * self.num_shards

    def build(self, input_shape):
        dim = input_shape[-1]
        # All kernels first: a strategy that places variables round robin (parameter
        # servers) then puts consecutive shards on different devices.
        self.kernels = []
        for i, (size, device) in enumerate(zip(self.sizes, self.shard_devices)):
            with on_device(device):
                self.kernels.append(
                    self.add_weight(
                        shape=(dim, size),
                        initializer=self._kernel_initializer(dim),
                        regularizer=self.kernel_regularizer,
                        name=f"kernel_{i}",
                    )
                )
        self.biases = []
        for i, (size, device) in enumerate(zip(self.sizes, self.shard_devices)):
            with on_device(device):
                self.biases.append(
                    self.add_weight(shape=(size,), initializer="zeros", trainable=not self.normalized, name=f"bias_{i}")
                )

    def _kernel_initializer(self, dim: int):
        """Default: Glorot uniform over the whole [D, C] kernel (fan-out C, not C_i), so a
        sharded classifier starts from the same distribution as the Dense one."""
        if self.kernel_initializer is not None:
            return self.kernel_initializer
        limit = (6.0 / (dim + self.units)) ** 0.5
        return keras.initializers.RandomUniform(-limit, limit)

    def shard_logits(self, x: tf.Tensor, columns: list[tf.Tensor] | None = None) -> list[tf.Tensor]:
        """Per-shard logits [B, C_i], each computed on its shard's device; with columns
        (one index vector per shard), only those columns of each shard."""
        if not self.built:
            self.build(x.shape)
        if self.normalized:
            x = tf.math.l2_normalize(x, axis=-1)
        logits = []
        for i, device in enumerate(self.shard_devices):
            kernel, bias = self.kernels[i], self.biases[i]
            with on_device(device):
                if columns is not None:
                    kernel = tf.gather(kernel, columns[i], axis=1)
                    bias = tf.gather(bias, columns[i])
                if self.normalized:
                    logits.append(self.scale * tf.matmul(x, tf.math.l2_normalize(kernel, axis=0)) + bias)
                else:
                    logits.append(tf.matmul(x, kernel) + bias)
        return logits

    def margin_logits(self, shard_logits: list[tf.Tensor], label_positions: list[tf.Tensor],
                      columns: list[tf.Tensor] | None = None) -> list[tf.Tensor]:
        """The cosine classifier's margin at each label, applied by the shard that owns it."""
        if not self.normalized or self.margin == 0.0:
            return shard_logits
        out = []
        for i, (logits, positions, device) in enumerate(zip(shard_logits, label_positions, self.shard_devices)):
            bias = self.biases[i] if columns is None else tf.gather(self.biases[i], columns[i])
            with on_device(device):
                out.append(margin_logits(logits, tf.cast(positions, tf.int32), bias, self.scale, self.margin,
                                         self.margin_type))
        return out

    def shard_class_ids(self) -> list[tf.Tensor]:
        return [tf.range(o, o + s, dtype=tf.int64) for o, s in zip(self.offsets, self.sizes)]

    def label_positions(self, labels: tf.Tensor) -> list[tf.Tensor]:
        return contiguous_label_positions(labels, self.sizes)

    def cross_entropy(self, shard_logits: list[tf.Tensor], label_positions: list[tf.Tensor]) -> tf.Tensor:
        return sharded_softmax_cross_entropy(shard_logits, label_positions, self.shard_devices)

    def top_k(self, x: tf.Tensor, k: int) -> tuple[tf.Tensor, tf.Tensor]:
        """(probabilities [B, k], class ids [B, k]) of the k most probable classes."""
        logits = self.shard_logits(x)
        values, ids = merge_top_k(logits, self.shard_class_ids(), min(k, self.units), self.shard_devices)
        return tf.exp(values - sharded_log_sum_exp(logits, self.shard_devices)[:, None]), ids

    def call(self, x):
        return tf.concat(self.shard_logits(x), axis=1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_shards": self.num_shards,
            "devices": list(self.devices),
            "kernel_initializer": (
                keras.initializers.serialize(self.kernel_initializer) if self.kernel_initializer else None
            ),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "normalized": self.normalized,
            "scale": self.scale,
            "margin": self.margin,
            "margin_type": self.margin_type,
        }
