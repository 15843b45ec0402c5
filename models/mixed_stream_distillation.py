"""Mixed-stream distillation: the visual head learns the mixed head's soft prediction.

    p_m = softmax(sg(W x_m) / T)          the teacher: image and title, x_m = max(x_v, s)
    p_v = softmax(W x_v / T)              the student: the image alone (the deployed path)
    L_distill = T^2 * KL(p_m || p_v)      per image with a title (0 without)

added to the SICoT loss with weight kappa (``model.mixed_distillation_weight``):

    loss = CE(W x_v) + lambda * CE(W x_m) + mu * L_align + kappa * L_distill

Why: titles are privileged information, present in training only. Lopez-Paz, Bottou,
Schoelkopf and Vapnik's generalized distillation ("Unifying distillation and
privileged information", ICLR 2016) passes it to the model that must work without it
by training that model on the soft labels of a teacher that sees it. Here the teacher
is SICoT's own mixed head, trained in the same step through the same classifier W:
its distribution over the SKUs of one training image spreads over the SKUs whose
titles share words with this one (the skin-tone variants of a person, the cats, the
hearts), the similarity a one-hot label leaves out and a tail SKU with one or two
photos cannot learn from its own images. The CE terms are unchanged; this term only
adds what the teacher knows about the other classes.

The teacher is a stop-gradient target (the mixed head keeps learning from the labels
only, so it cannot drift towards what the images predict); T^2 keeps the gradient's
size independent of T (Hinton, Vinyals and Dean 2015). With kappa 0 (the default) the
loss is the paper's. No parameters. Dense and cosine classifiers (the full logits of
both heads); a sharded classifier would need the softmax's normaliser over all shards
for both heads and is refused.
"""

from __future__ import annotations

import tensorflow as tf


def distillation_loss(visual_logits: tf.Tensor, mixed_logits: tf.Tensor, temperature: float) -> tf.Tensor:
    """[B] T^2 * KL(softmax(sg(mixed) / T) || softmax(visual / T)); 0 where the two
    heads agree."""
    if temperature <= 0:
        raise ValueError(f"model.mixed_distillation_temperature must be > 0, got {temperature}")
    teacher = tf.nn.log_softmax(tf.stop_gradient(mixed_logits) / temperature, axis=-1)
    student = tf.nn.log_softmax(visual_logits / temperature, axis=-1)
    return temperature**2 * tf.reduce_sum(tf.exp(teacher) * (teacher - student), axis=-1)
