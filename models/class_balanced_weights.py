"""Class-balanced example weights for the mixed stream's loss.

    loss = CE(W x_v) + lambda * sum_i w_{y_i} CE(W max(x_v_i, s_i)) / B
    w_y  = n_y^-beta / Z,      Z = sum_j n_j * n_j^-beta / N

n_y: training images of class y (Transform's label counts), N = sum_j n_j; Z makes the
mean weight over the training images 1, so lambda keeps its meaning. beta
(``model.mixed_loss_class_balance``) runs from 0 (every image counts once: the paper)
to 1 (every class counts once: a class's images share one unit of weight); 0.5 is the
square-root rule (Mahajan et al. 2018's sampling, as a weight).

Why the mixed term only: it is where titles reach the shared classifier. A tail SKU with
one photo sees one title-informed gradient per epoch, a head SKU fifty, so the words a
tail SKU shares with head SKUs (cat, heart, skin tone) shape its classifier row far less
than its own head neighbours' rows. Weighting the mixed term by class gives every SKU's
title the same say in W, while the visual term stays instance-balanced (the deployed
image-only model keeps learning its features from every photo alike). Re-weighting a
loss can also move W's biases towards the tail, like the logit-adjusted loss at a
smaller tau; measured on the SKU benchmark it hardly did (the mixed loss is near 0 by
the last epochs), and beta 1 stayed below the default there (docs/issue11_experiments.md,
"Class-balanced mixed term"). It was not measured with the logit-adjusted loss.

Reference: Cui et al., "Class-balanced loss based on effective number of samples" (CVPR
2019) weight each class by the inverse of its effective number; with beta here as an
exponent on n_y (their beta -> 1 limit is n_y^-1). No parameters.
"""

from __future__ import annotations

import numpy as np

from models.class_prior import floored_counts


def class_balanced_weights(class_counts: np.ndarray, beta: float) -> np.ndarray:
    """[C] float32 weight of an example of each class; mean 1 over the training images.

    A class with no training image counts as one (its weight stays finite; it never
    weighs a training example anyway).
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"model.mixed_loss_class_balance must be within [0, 1], got {beta}")
    counts = floored_counts(class_counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"class counts must be a non-empty [C] vector, got shape {counts.shape}")
    raw = counts ** -beta
    normaliser = float((counts * raw).sum() / counts.sum())
    return (raw / normaliser).astype(np.float32)
