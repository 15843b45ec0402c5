"""The SICoT mixed stream: the elementwise max of the visual feature and the title embedding.

The paper (Sec. 3.3) mixes the streams as

    x_m = max(x_v, s)                               elementwise, x_v, s in R^D (both >= 0)

and trains the shared classifier on it. The max lets each dimension come from the
stream that is larger there, so the balance of the two depends on their scales: a
title embedding much larger than the visual feature wins nearly every dimension, and
the mixed head becomes a text classifier that pulls the shared classifier towards
text. ``scaling`` sets that balance:

- ``none``: the paper's max as it stands.
- ``visual_norm``: the title embedding is first rescaled, per example, to the L2 norm
  of the visual feature, ``s' = s * sg(||x_v|| / ||s||)`` (``sg``: stop-gradient, so
  the rescaling is a normalisation, not something to learn around), then
  ``x_m = max(x_v, s')``: the two streams meet at the same scale whatever the word
  vectors' and the backbone's.

With ``visual_gradient=False`` the mixed stream reads a stop-gradient copy of x_v: the
mixed loss then trains the shared classifier and the semantic stream only, and the
backbone learns from the visual loss alone (a diagnostic of where co-training acts:
through the classifier, or through the backbone).

The layer also reports ``semantic_share``: per example, the share of dimensions where
the (rescaled) title embedding is the larger (1 = the mixed feature is all text), the
number to watch when the mixed loss falls much faster than the visual one.

No parameters.
"""

from __future__ import annotations

import keras
from keras import ops

SCALINGS = ("none", "visual_norm")


@keras.saving.register_keras_serializable(package="sicot")
class MixedStream(keras.layers.Layer):
    """(x_v [B, D], s [B, D]) -> (x_m [B, D], semantic_share [B])."""

    def __init__(self, scaling: str = "none", visual_gradient: bool = True, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        if scaling not in SCALINGS:
            raise ValueError(f"unknown model.mixed_stream_scaling '{scaling}' (known: {', '.join(SCALINGS)})")
        self.scaling = scaling
        self.visual_gradient = visual_gradient
        self.epsilon = epsilon

    def call(self, visual, semantic):
        if not self.visual_gradient:
            visual = ops.stop_gradient(visual)
        if self.scaling == "visual_norm":
            ratio = ops.norm(visual, axis=-1, keepdims=True) / ops.maximum(
                ops.norm(semantic, axis=-1, keepdims=True), self.epsilon
            )
            semantic = semantic * ops.stop_gradient(ratio)
        share = ops.mean(ops.cast(semantic > visual, visual.dtype), axis=-1)
        return ops.maximum(visual, semantic), share

    def compute_output_shape(self, visual_shape, semantic_shape=None):
        return visual_shape, visual_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "scaling": self.scaling, "visual_gradient": self.visual_gradient,
                "epsilon": self.epsilon}
