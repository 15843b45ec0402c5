"""The visual-only classifier: backbone -> dropout -> linear classifier W -> logits."""

from __future__ import annotations

import keras
from keras import layers

from models import features
from models.visual_backbone import build_backbone
from sicot.config import SicotConfig


def build_visual_classifier(config: SicotConfig, num_classes: int) -> keras.Model:
    """[B, S, S, 3] pixels -> [B, num_classes] logits."""
    size = config.preprocessing.image_size
    backbone = build_backbone(
        config.model.backbone, size, config.model.feature_dim, config.model.backbone_weights
    )
    pixels = keras.Input((size, size, 3), name=features.IMAGE_PIXELS)
    x = backbone(pixels)
    x = layers.Dropout(config.model.dropout)(x)
    logits = layers.Dense(
        num_classes,
        kernel_regularizer=keras.regularizers.L2(config.train.weight_decay),
        name="classifier",
    )(x)
    return keras.Model(pixels, logits, name="visual_classifier")
