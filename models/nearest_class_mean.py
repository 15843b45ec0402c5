"""The nearest-class-mean classifier (Kang et al., ICLR 2020, "Decoupling
representation and classifier", Sec. 4.2): ``long_tail.adjustment: ncm``.

Keep a long-tailed model's representation and replace its classifier by each class's
mean feature over its training images, L2-normalised; an image goes to the class whose
mean is most similar by cosine. The linear classifier with no bias

    z_j = x . mu_j / ||mu_j||        (mu_j: the mean feature x of class j's training images)

ranks the classes the same way (dividing by the image's own norm ``||x||`` changes no
ranking), so the Trainer writes ``mu_j / ||mu_j||`` into the classifier's kernel and
zeros into its bias before export, for the Dense and the sharded classifier alike
(models/classifier_rebalancing.apply_kernel), and the exported serving signature stays
the image-only top-k. For a cosine classifier, which normalises its own weights, the
same kernel gives the same ranking.

Why it helps the tail: no bias carries the training prior and every class's weight
vector has norm 1, whether its mean came from 1 training image or 50. Kang et al.'s
ImageNet-LT few-shot top-1: 5.8 with the jointly trained classifier, 28.1 with NCM
(their Table 2; facebookresearch ``classifier-balancing``). It has no tau: nothing is
chosen on the validation split.

Cost: one pass over the training split without augmentation (the features), and a
[C, D] sum in memory.
"""

from __future__ import annotations

import numpy as np


def class_means(features: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """[D, C] each class's mean feature over its examples (features [N, D], labels [N]
    class ids; -1 and classes with no example give a zero column)."""
    labels = np.asarray(labels, dtype=np.int64)
    known = (labels >= 0) & (labels < classes)
    sums = np.zeros((classes, features.shape[1]))
    np.add.at(sums, labels[known], np.asarray(features, dtype=np.float64)[known])
    counts = np.bincount(labels[known], minlength=classes).astype(np.float64)
    return (sums / np.maximum(counts, 1.0)[:, None]).T


def ncm_kernel(means: np.ndarray) -> np.ndarray:
    """[D, C] the class means L2-normalised (a zero mean stays zero: that class scores 0
    for every image)."""
    norms = np.linalg.norm(means, axis=0, keepdims=True)
    return means / np.maximum(norms, 1e-12)


def classes_without_mean(means: np.ndarray) -> int:
    """How many classes have a zero mean (no example)."""
    return int(np.sum(np.linalg.norm(means, axis=0) == 0))
