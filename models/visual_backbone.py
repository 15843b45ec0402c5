"""Visual stream backbones: image pixels -> a visual feature x_v of size D.

- ``tiny_cnn``: two conv layers; for tests (seconds on a CPU).
- ``small_resnet``: a compact ResNet (a stride-2 stem, then three stages of two basic
  residual blocks, widths 32/64/128); trains on the bundled 64x64 sample in minutes on
  two CPU cores.
- ``resnet50``: Keras' ResNet-50 (the paper's backbone), global average pooled.

Every backbone ends in a projection to ``feature_dim`` with ReLU, so that the visual
feature and the semantic embedding live in the same non-negative space (the mixed
stream takes their elementwise max). Pretrained weights come from a local file
(``model.backbone_weights``: a Keras ``.weights.h5`` of the backbone without the
projection); nothing is downloaded.
"""

from __future__ import annotations

import keras
from keras import layers

BACKBONES = ("tiny_cnn", "small_resnet", "resnet50")
# Moving statistics that settle within an epoch of a small data set (Keras: 0.99).
_BN_MOMENTUM = 0.9


def _tiny_cnn(inputs):
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    return layers.GlobalAveragePooling2D()(x)


def _basic_block(x, filters: int, stride: int, name: str):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn1")(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_proj_bn")(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def _small_resnet(inputs):
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=_BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU()(x)
    for stage, filters in enumerate((32, 64, 128)):
        x = _basic_block(x, filters, stride=1 if stage == 0 else 2, name=f"stage{stage}_block0")
        x = _basic_block(x, filters, stride=1, name=f"stage{stage}_block1")
    return layers.GlobalAveragePooling2D()(x)


def _resnet50(inputs):
    base = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=inputs, pooling="avg")
    return base.output


_BUILDERS = {"tiny_cnn": _tiny_cnn, "small_resnet": _small_resnet, "resnet50": _resnet50}


def build_backbone(
    name: str, image_size: int, feature_dim: int, weights: str | None = None
) -> keras.Model:
    """[B, S, S, 3] pixels in [-1, 1] -> [B, feature_dim] visual feature."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown backbone '{name}' (known: {', '.join(BACKBONES)})")
    trunk_inputs = keras.Input((image_size, image_size, 3), name="trunk_pixels")
    trunk = keras.Model(trunk_inputs, _BUILDERS[name](trunk_inputs), name=f"{name}_trunk")
    if weights:
        trunk.load_weights(weights)
    inputs = keras.Input((image_size, image_size, 3), name="image_pixels")
    feature = layers.Dense(feature_dim, activation="relu", name="visual_projection")(trunk(inputs))
    return keras.Model(inputs, feature, name=f"{name}_backbone")


def backbone_trunk(backbone: keras.Model) -> keras.Model:
    """The part of a build_backbone model that pretrained weights fill: all but the projection."""
    return backbone.get_layer(f"{backbone.name.removesuffix('_backbone')}_trunk")
