import keras
import numpy as np
import pytest
import tensorflow as tf

from models import features
from models.sicot_model import build_sicot_model
from models.weight_decay import decay_kernels
from sicot.config import load_config

NUM_CLASSES, VOCAB, SIZE, TOKENS, WD = 5, 12, 16, 6, 1e-3


def _model(*overrides, word_vectors=None):
    config = load_config(
        None,
        ["model.backbone=tiny_cnn", "model.feature_dim=8", f"preprocessing.image_size={SIZE}",
         f"preprocessing.max_title_tokens={TOKENS}", "model.attention_rank=4", "model.dropout=0.0",
         "model.title_word_prediction_weight=0.0", "model.stream_alignment_weight=0.0",
         f"train.weight_decay={WD}", *overrides],
    )
    return build_sicot_model(config, NUM_CLASSES, VOCAB, word_vectors)


def _penalty(variables) -> float:
    return WD * sum(float(tf.reduce_sum(tf.square(v))) for v in variables)


def _regularization(model) -> float:
    return float(tf.add_n(model.losses))


def test_classifier_scope_decays_the_classifier_kernel_only():
    model = _model()
    (kernel,) = [v for v in model.trainable_weights if v.path == "classifier/kernel"]
    assert len(model.losses) == 1
    assert _regularization(model) == pytest.approx(_penalty([kernel]), rel=1e-5)


def test_kernels_scope_decays_every_weight_matrix_once_and_nothing_else():
    vectors = np.random.default_rng(0).normal(size=(VOCAB, 6)).astype("float32")
    # The bilinear attention (not the default mean): an encoder with weight matrices of its own.
    model = _model("train.weight_decay_scope=kernels", "model.title_encoder=bilinear_attention", word_vectors=vectors)
    paths = {v.path: v for v in model.trainable_weights}
    decayed = [v for p, v in paths.items() if len(v.shape) >= 2 and "word_embedding" not in p]
    # What the scope must cover: the backbone's convolutions, its projection, the semantic
    # stream's word projection and attention, the shared classifier.
    names = " ".join(v.path for v in decayed)
    for part in ("conv2d", "classifier/kernel", "word_projection", "context_projection"):
        assert part in names, part
    assert len(model.losses) == len(decayed)  # the classifier's own regularizer is not doubled
    assert _regularization(model) == pytest.approx(_penalty(decayed), rel=1e-5)
    # Biases, BatchNorm, scalars and the pretrained word vectors carry no penalty.
    assert all(v.regularizer is None for p, v in paths.items() if len(v.shape) < 2 or "word_embedding" in p)


def test_the_visual_only_baseline_is_decayed_the_same_way():
    model = _model("train.weight_decay_scope=kernels", "model.co_training=false")
    convs = [v for v in model.trainable_weights if len(v.shape) == 4]
    assert convs and all(v.regularizer is not None for v in convs)


def test_the_penalty_enters_the_training_loss_and_pulls_the_backbone():
    rng = np.random.default_rng(0)
    x = {features.IMAGE_PIXELS: rng.uniform(-1, 1, (4, SIZE, SIZE, 3)).astype("float32"),
         features.TITLE_TOKEN_IDS: rng.integers(1, VOCAB, (4, TOKENS)).astype("int64")}
    y = tf.constant([0, 1, 2, 3])
    totals, conv_grads = {}, {}
    for scope in ("classifier", "kernels"):
        keras.utils.set_random_seed(1)
        model = _model(f"train.weight_decay_scope={scope}")
        conv = next(v for v in model.trainable_weights if len(v.shape) == 4)
        with tf.GradientTape() as tape:
            total, visual, mixed, _, _ = model._stream_losses(x, y, training=True)
        totals[scope] = float(total) - float(visual) - float(mixed)
        conv_grads[scope] = tape.gradient(total, conv).numpy()
        if scope == "kernels":
            expected_extra = 2 * WD * conv.numpy()
    assert totals["kernels"] > totals["classifier"] > 0
    # The same weights (same seed): the gradient differs by exactly the L2 term's 2 * wd * w.
    np.testing.assert_allclose(conv_grads["kernels"] - conv_grads["classifier"], expected_extra, atol=1e-6)


def test_unknown_scope_and_unbuilt_model_are_refused():
    with pytest.raises(ValueError, match="weight_decay_scope 'everything'.*classifier, kernels"):
        _model("train.weight_decay_scope=everything")
    with pytest.raises(ValueError, match="built model"):
        decay_kernels(keras.Sequential([keras.layers.Dense(2)]), WD)


def test_zero_decay_attaches_nothing():
    model = _model("train.weight_decay_scope=kernels", "train.weight_decay=0.0")
    assert decay_kernels(model, 0.0) == 0
    assert all(v.regularizer is None for v in model.trainable_weights if v.path != "classifier/kernel")
