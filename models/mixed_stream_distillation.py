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
size independent of T (Hinton, Vinyals and Dean 2015). With kappa 0 the loss is the
paper's. kappa 1, T 2 is the default since stop 50: on the SKU benchmark's validation
split (64 epochs, 3 seeds) tail top-1 23.0 against 21.1 without it, overall 27.3 against
25.8 (docs/issue11_experiments.md, "Mixed-stream distillation"). No parameters.

Every classifier: the logits of a dense or cosine one (the cosine's s * cos, without
the training margin), or a sharded one's per-shard logits, each softmax normalised over
all shards by the distributed log-sum-exp (models/sharded_classifier.py) and the KL summed
shard by shard on its device, so no [B, C] tensor is gathered. With partial FC both
heads see the step's sampled classes, and the two distributions are those over the
sample (the teacher's mass on the classes left out is not seen that step).
"""

from __future__ import annotations

import tensorflow as tf

from models.sharded_classifier import on_device, sharded_log_sum_exp


def distillation_loss(visual_logits, mixed_logits, temperature: float,
                      devices: list[str | None] | None = None) -> tf.Tensor:
    """[B] T^2 * KL(softmax(sg(mixed) / T) || softmax(visual / T)); 0 where the two
    heads agree. The logits: [B, C] tensors, or lists of a sharded classifier's [B, C_i]
    shards (with the shards' devices)."""
    if temperature <= 0:
        raise ValueError(f"model.mixed_distillation_temperature must be > 0, got {temperature}")
    if not isinstance(visual_logits, (list, tuple)):
        visual_logits, mixed_logits = [visual_logits], [mixed_logits]
    devices = devices or [None] * len(visual_logits)
    teacher = [tf.stop_gradient(m) / temperature for m in mixed_logits]
    student = [v / temperature for v in visual_logits]
    teacher_norm = sharded_log_sum_exp(teacher, devices)
    student_norm = sharded_log_sum_exp(student, devices)
    terms = []
    for t, s, device in zip(teacher, student, devices):
        with on_device(device):
            log_p, log_q = t - teacher_norm[:, None], s - student_norm[:, None]
            terms.append(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1))
    return temperature**2 * tf.add_n(terms)
