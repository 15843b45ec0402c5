"""The SICoT co-training model (paper Sec. 3.2-3.3).

    visual stream    x_v = backbone(image)                          [B, D]
    semantic stream  s   = title_encoder(Embedding(title ids))       [B, D]
    mixed stream     x_m = max(x_v, s)  (elementwise)                [B, D]
    shared classifier W (one Dense layer) on both streams
    loss = CE(W x_v) + lambda * CE(W x_m)

The mixed term is masked for examples whose title has no known word: they train the
visual stream only (their semantic embedding would be garbage). With the semantic
stream off (``model.co_training: false``) the same class trains the plain visual
classifier with everything else identical: the baseline.

``model(pixels)`` (``call``) is the deployed path: the image alone -> visual logits.
Titles are only read by ``train_step``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models import features
from models.title_encoders import encode_title
from models.visual_backbone import build_backbone
from sicot.config import SicotConfig


def build_semantic_stream(
    config: SicotConfig, vocab_size: int, word_vectors: np.ndarray | None = None
) -> keras.Model:
    """[B, L] title token ids (0 = padding) -> ([B, D] embedding, [B, L] word weights).

    Word embeddings have the size of the pretrained vectors when given (else D) and are
    projected to D (linear, then ReLU, so they live where x_v lives: x_v >= 0).
    """
    dim = config.model.feature_dim
    ids = keras.Input((config.preprocessing.max_title_tokens,), dtype="int64", name=features.TITLE_TOKEN_IDS)
    embed_dim = dim if word_vectors is None else word_vectors.shape[1]
    embedding = layers.Embedding(
        vocab_size,
        embed_dim,
        mask_zero=True,
        embeddings_initializer=(
            "uniform" if word_vectors is None else keras.initializers.Constant(word_vectors)
        ),
        name="word_embedding",
    )
    words = embedding(ids)
    mask = ids > 0
    if word_vectors is not None or config.model.project_words:
        words = layers.Dense(dim, activation="relu", name="word_projection")(words)
    else:
        words = layers.ReLU(name="word_relu")(words)
    title, weights = encode_title(config.model.title_encoder, words, mask, dim, config.model.attention_rank)
    return keras.Model(ids, [title, weights], name="semantic_stream")


class SicotModel(keras.Model):
    """Visual classifier, co-trained with titles through the shared classifier."""

    def __init__(
        self,
        visual: keras.Model,
        classifier: layers.Layer,
        semantic: keras.Model | None = None,
        mixed_loss_weight: float = 1.0,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.visual = visual
        self.classifier = classifier
        self.semantic = semantic
        self.mixed_loss_weight = mixed_loss_weight
        self.dropout = layers.Dropout(dropout)
        self.ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        self.visual_loss_tracker = keras.metrics.Mean(name="visual_loss")
        self.mixed_loss_tracker = keras.metrics.Mean(name="mixed_loss") if semantic is not None else None

    def call(self, pixels, training=False):
        return self.classifier(self.dropout(self.visual(pixels, training=training), training=training))

    def stream_logits(self, pixels, token_ids, training=False):
        """(visual logits, mixed logits, has_title) for a batch with titles."""
        x_v = self.dropout(self.visual(pixels, training=training), training=training)
        semantic, _ = self.semantic(token_ids, training=training)
        x_m = tf.maximum(x_v, semantic)
        has_title = tf.reduce_any(token_ids > 0, axis=1)
        return self.classifier(x_v), self.classifier(x_m), has_title

    def _stream_losses(self, x, y, training):
        pixels = x[features.IMAGE_PIXELS]
        batch = tf.cast(tf.shape(y)[0], tf.float32)
        if self.semantic is None:
            logits = self(pixels, training=training)
            visual_loss = tf.reduce_mean(self.ce(y, logits))
            mixed_loss = tf.constant(0.0)
        else:
            logits, mixed_logits, has_title = self.stream_logits(pixels, x[features.TITLE_TOKEN_IDS], training)
            visual_loss = tf.reduce_mean(self.ce(y, logits))
            # Mean over the whole batch, so lambda weighs the two terms per example.
            mixed_loss = tf.reduce_sum(self.ce(y, mixed_logits) * tf.cast(has_title, tf.float32)) / batch
        total = visual_loss + self.mixed_loss_weight * mixed_loss
        if self.losses:
            total += tf.add_n(self.losses)
        return total, visual_loss, mixed_loss, logits

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            total, visual_loss, mixed_loss, logits = self._stream_losses(x, y, training=True)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return self._update_metrics(y, logits, total, visual_loss, mixed_loss)

    def test_step(self, data):
        x, y = data
        logits = self(x[features.IMAGE_PIXELS], training=False)
        visual_loss = tf.reduce_mean(self.ce(y, logits))
        return self._update_metrics(y, logits, visual_loss, visual_loss, tf.constant(0.0))

    def _update_metrics(self, y, logits, total, visual_loss, mixed_loss):
        """Keras' own loss tracker gets the total; compiled metrics see the visual logits."""
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(total)
            elif metric is self.visual_loss_tracker:
                metric.update_state(visual_loss)
            elif metric is self.mixed_loss_tracker:
                metric.update_state(mixed_loss)
            else:
                metric.update_state(y, logits)
        return self.get_metrics_result()

    def inference_model(self) -> keras.Model:
        """A functional image-only model sharing this model's layers (for export)."""
        pixels = keras.Input(self.visual.input_shape[1:], name=features.IMAGE_PIXELS)
        return keras.Model(pixels, self.classifier(self.visual(pixels)), name="sicot_inference")


def build_sicot_model(
    config: SicotConfig, num_classes: int, vocab_size: int, word_vectors: np.ndarray | None = None
) -> SicotModel:
    m = config.model
    visual = build_backbone(m.backbone, config.preprocessing.image_size, m.feature_dim, m.backbone_weights)
    classifier = layers.Dense(
        num_classes, kernel_regularizer=keras.regularizers.L2(config.train.weight_decay), name="classifier"
    )
    semantic = build_semantic_stream(config, vocab_size, word_vectors) if m.co_training else None
    return SicotModel(visual, classifier, semantic, m.mixed_loss_weight, m.dropout, name="sicot")
