"""Stream alignment: the visual feature and its title's embedding learn to point the same way.

    L_align = 1 - cos(x_v, sg(s))     target "semantic": the image learns the title's direction
              1 - cos(sg(x_v), s)     target "visual": the title learns the image's direction
              1 - cos(x_v, s)         target "both"
                                      per image with a title (0 without)

added to the SICoT loss with weight mu (``model.stream_alignment_weight``):

    loss = CE(W x_v) + lambda * CE(W max(x_v, s)) + mu * L_align

Why: titles are privileged information, present in training only (Vapnik and
Vashist's learning using privileged information; DeViSE's image-to-word-vector map is
the same idea). The shared classifier only ties the two streams loosely: the mixed
head can reach a near-zero loss from the title alone, and a tail class's weight vector
then fits its title embedding while its few images' visual features sit elsewhere
(measured: ``semantic_share`` 0.87, and co-training losing most on tail classes). The
alignment term asks the visual stream to produce, from the image, the direction the
title gives. Titles share words across SKUs (cat, heart, hand, skin tone), so the
directions a head SKU's many photos teach carry over to a tail SKU with the same
words. With target "semantic" the title side is a stop-gradient target: the semantic
stream keeps learning from the mixed loss only, so it cannot collapse towards whatever
the images give. Target "visual" is the other reading: the semantic stream learns to
predict, from the words, the visual feature of the SKU's photos, so that a tail SKU's
title yields a visual prototype composed from words that head SKUs taught.

No parameters; cosine, so the feature scale (ReLU features of any size) does not matter.
"""

from __future__ import annotations

import tensorflow as tf


TARGETS = ("semantic", "visual", "both")


def alignment_loss(visual: tf.Tensor, semantic: tf.Tensor, target: str = "semantic") -> tf.Tensor:
    """[B] 1 - cos(x_v, s), the side that is not learning held fixed; 1 where either
    vector is zero."""
    if target not in TARGETS:
        raise ValueError(f"unknown model.stream_alignment_target '{target}' (known: {', '.join(TARGETS)})")
    v = tf.math.l2_normalize(visual, axis=-1)
    s = tf.math.l2_normalize(semantic, axis=-1)
    if target == "semantic":
        s = tf.stop_gradient(s)
    elif target == "visual":
        v = tf.stop_gradient(v)
    return 1.0 - tf.reduce_sum(v * s, axis=-1)
