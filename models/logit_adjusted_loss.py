"""The logit-adjusted loss (Menon et al., ICLR 2021) and balanced softmax (Ren et al., 2020).

Plain cross-entropy on a long-tailed training set learns logits that carry the class
prior: the head classes win close calls. The logit-adjusted loss trains on

    CE(y, z + tau * log pi)        pi_j = n_j / sum_k n_k   (the training prior)

so that the logits z themselves model the balanced class-conditional (the offset is
added in training only; the deployed model uses z). Balanced softmax models
p(y | x) = n_y exp(z_y) / sum_j n_j exp(z_j), which is the same loss at tau = 1 (the
constant log sum_k n_k cancels in the softmax): it is offered under its own name, with
tau fixed to 1.

The offsets are a constant [C] vector added to the logits of every loss term (both
SICoT heads); with a sharded classifier or partial FC, each shard's columns take their
classes' offsets (``SicotModel._head_cross_entropies``).

Reference implementation: google-research/google-research ``logit_adjustment``
(``utils.build_loss_fn``: ``logits + tau * log(base_probs)`` in training).
"""

from __future__ import annotations

import numpy as np

from models.class_prior import log_prior

LOSSES = ("softmax", "logit_adjusted", "balanced_softmax")


def loss_logit_offsets(loss: str, class_counts: np.ndarray, tau: float = 1.0) -> np.ndarray | None:
    """[C] float32 offsets added to the training logits, or None for plain softmax.

    class_counts: training images per class id (a class with none counts as one, so
    that its offset stays finite).
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown long_tail.loss '{loss}' (known: {', '.join(LOSSES)})")
    if loss == "softmax":
        return None
    tau = 1.0 if loss == "balanced_softmax" else tau
    return (tau * log_prior(class_counts)).astype(np.float32)
