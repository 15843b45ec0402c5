import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.sharded_classifier import (
    ShardedClassifier,
    contiguous_label_positions,
    merge_top_k,
    shard_sizes,
    sharded_log_sum_exp,
    sharded_softmax_cross_entropy,
)

ROOT = Path(__file__).resolve().parent.parent


def _split(logits: np.ndarray, sizes: list[int]) -> list[tf.Tensor]:
    return [tf.constant(part) for part in np.split(logits, np.cumsum(sizes)[:-1], axis=1)]


def test_shard_sizes_cover_the_classes_contiguously():
    assert shard_sizes(10, 3) == [4, 3, 3]
    assert shard_sizes(7, 1) == [7]
    with pytest.raises(ValueError, match="5 classifier shards for only 4 classes"):
        shard_sizes(4, 5)
    positions = contiguous_label_positions(tf.constant([0, 3, 4, 9]), [4, 3, 3])
    assert [p.numpy().tolist() for p in positions] == [[0, 3, -1, -1], [-1, -1, 0, -1], [-1, -1, -1, 2]]


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e4])
def test_sharded_cross_entropy_equals_the_dense_one_on_extreme_logits(scale):
    rng = np.random.default_rng(0)
    sizes = [5, 4, 4]
    logits = (rng.normal(size=(6, 13)) * scale).astype("float32")
    logits[0, 12] = 3 * scale  # the max in the last shard
    labels = np.array([12, 0, 4, 5, 8, 11])
    parts = _split(logits, sizes)
    with tf.GradientTape() as tape:
        tape.watch(parts)
        sharded = sharded_softmax_cross_entropy(parts, contiguous_label_positions(tf.constant(labels), sizes))
    dense_logits = tf.constant(logits)
    with tf.GradientTape() as dense_tape:
        dense_tape.watch(dense_logits)
        dense = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, dense_logits)
    assert np.all(np.isfinite(sharded.numpy()))
    np.testing.assert_allclose(sharded.numpy(), dense.numpy(), rtol=1e-5, atol=1e-5 * scale)
    grads = np.concatenate([g.numpy() for g in tape.gradient(sharded, parts)], axis=1)
    np.testing.assert_allclose(grads, dense_tape.gradient(dense, dense_logits).numpy(), atol=1e-5)
    np.testing.assert_allclose(
        sharded_log_sum_exp(parts).numpy(), tf.reduce_logsumexp(dense_logits, axis=1).numpy(), rtol=1e-6, atol=1e-6
    )


def test_merged_top_k_equals_the_dense_top_k():
    rng = np.random.default_rng(1)
    sizes = [3, 6, 2]
    logits = rng.normal(size=(5, 11)).astype("float32")
    ids = [tf.range(o, o + s, dtype=tf.int64) for o, s in zip([0, 3, 9], sizes)]
    values, class_ids = merge_top_k(_split(logits, sizes), ids, 4)
    dense = tf.math.top_k(logits, 4)
    np.testing.assert_array_equal(class_ids.numpy(), dense.indices.numpy())
    np.testing.assert_allclose(values.numpy(), dense.values.numpy())


def _dense_twin(layer: ShardedClassifier, x) -> keras.layers.Dense:
    dense = keras.layers.Dense(layer.units)
    dense.build(x.shape)
    dense.kernel.assign(tf.concat([k.value for k in layer.kernels], axis=1))
    dense.bias.assign(tf.concat([b.value for b in layer.biases], axis=0))
    return dense


def test_layer_matches_a_dense_layer_with_the_same_weights():
    x = tf.random.stateless_normal([6, 8], seed=[1, 2])
    layer = ShardedClassifier(11, 3, name="classifier")
    logits = layer(x)
    assert [tuple(k.shape) for k in layer.kernels] == [(8, 4), (8, 4), (8, 3)]
    assert [tuple(s.shape) for s in layer.shard_logits(x)] == [(6, 4), (6, 4), (6, 3)]
    dense = _dense_twin(layer, x)
    # Three narrow matmuls and one wide one may sum in a different order (the CPU's kernels decide), so an
    # entry near zero can differ by a float32 ulp: an absolute floor, far below any wrong column's error.
    np.testing.assert_allclose(logits.numpy(), dense(x).numpy(), rtol=1e-6, atol=1e-6)
    probabilities, ids = layer.top_k(x, 5)
    dense_top = tf.math.top_k(tf.nn.softmax(dense(x)), 5)
    np.testing.assert_array_equal(ids.numpy(), dense_top.indices.numpy())
    np.testing.assert_allclose(probabilities.numpy(), dense_top.values.numpy(), rtol=1e-5)
    labels = tf.constant([0, 3, 4, 7, 8, 10])
    np.testing.assert_allclose(
        layer.cross_entropy(layer.shard_logits(x), layer.label_positions(labels)).numpy(),
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels, dense(x)).numpy(),
        rtol=1e-5,
    )


def test_weight_decay_is_the_dense_layers():
    x = tf.ones([2, 4])
    layer = ShardedClassifier(6, 2, kernel_regularizer=keras.regularizers.L2(0.1))
    layer(x)
    expected = 0.1 * sum(float(tf.reduce_sum(tf.square(k.value))) for k in layer.kernels)
    assert float(tf.add_n(layer.losses)) == pytest.approx(expected, rel=1e-5)


def test_config_and_saved_model_round_trip(tmp_path):
    layer = ShardedClassifier(7, 2, kernel_regularizer=keras.regularizers.L2(1e-3), name="classifier")
    config = layer.get_config()
    assert (config["units"], config["num_shards"], config["devices"]) == (7, 2, [])
    clone = ShardedClassifier.from_config(config)
    assert (clone.units, clone.num_shards, clone.sizes) == (7, 2, [4, 3])
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layer(inputs))
    x = np.random.default_rng(2).normal(size=(3, 5)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert isinstance(loaded.layers[-1], ShardedClassifier)


def test_one_device_per_shard_is_required():
    with pytest.raises(ValueError, match="3 classifier devices for 2 shards"):
        ShardedClassifier(8, 2, devices=["/CPU:0", "/CPU:1", "/CPU:2"])


# TensorFlow fixes its logical devices when it first uses them, so this check runs in a
# fresh interpreter that splits the CPU into three before anything else.
_ON_THREE_DEVICES = textwrap.dedent(
    """
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)
    import numpy as np
    from models.sharded_classifier import ShardedClassifier

    devices = ["/device:CPU:0", "/device:CPU:1", "/device:CPU:2"]
    layer = ShardedClassifier(10, 3, devices=devices)
    x = tf.random.stateless_normal([4, 6], seed=[3, 4])
    logits = layer(x)
    for kernel, bias, device in zip(layer.kernels, layer.biases, devices):
        assert kernel.value.device.endswith(device), (kernel.value.device, device)
        assert bias.value.device.endswith(device), (bias.value.device, device)
    shard_logits = layer.shard_logits(x)
    for part, device in zip(shard_logits, devices):
        assert part.device.endswith(device), (part.device, device)
    labels = tf.constant([0, 4, 7, 9])
    loss = layer.cross_entropy(shard_logits, layer.label_positions(labels))
    dense = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    np.testing.assert_allclose(loss.numpy(), dense.numpy(), rtol=1e-5)
    print("OK")
    """
)


def test_shards_live_on_their_own_devices():
    result = subprocess.run(
        [sys.executable, "-c", _ON_THREE_DEVICES],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]
