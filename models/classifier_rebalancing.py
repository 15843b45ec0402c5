"""Re-balancing a trained classifier for a class-balanced test (no retraining).

A classifier trained on long-tailed data favours head classes twice over: its biases
carry the training prior, and head classes' weight vectors grow larger norms. Two
post-training fixes, both edits of the classifier's weights (so they hold for the Dense
and the sharded classifier alike, each shard editing its own columns, and the exported
serving signature stays the image-only top-k):

- ``posthoc`` logit adjustment (Menon et al., ICLR 2021): predict with
  ``z_j - tau * log pi_j``, i.e. ``b_j <- b_j - tau * log pi_j`` (pi: the training prior).
  google-research ``logit_adjustment`` ``main.py``: ``logits - log(base_probs**tau)``.
- ``tau_norm`` (Kang et al., ICLR 2020, "Decoupling representation and classifier"):
  ``w_j <- w_j / ||w_j||**tau`` and no bias (their tau-normalised classifier scores
  ``x . w_j / ||w_j||**tau``; facebookresearch ``classifier-balancing``, ``pnorm``).
  tau = 1 is the cosine classifier up to a scale; tau = 0 keeps the weights.

tau is chosen on the validation split (``select_tau``: the best top-1 accuracy over a
grid, the smaller tau on a tie), as both papers choose it on a validation set.

Two more replace the weights instead of editing them, from the training features:
``ncm`` (the nearest class mean, models/nearest_class_mean.py) and ``crt`` (the
classifier trained again with class-balanced sampling, models/classifier_retraining.py).
Neither has a tau; the Trainer writes their kernel and bias with ``apply_kernel``.
"""

from __future__ import annotations

import numpy as np

ADJUSTMENTS = ("none", "posthoc", "tau_norm", "ncm", "crt")
# Adjustments that replace the weights (the Trainer computes them from the training
# features) rather than edit them.
REPLACING = {"ncm": "the training features' class means (models/nearest_class_mean.py)",
             "crt": "a classifier trained again on the training features (models/classifier_retraining.py)"}


def classifier_columns(classifier) -> list[tuple[object, object, int]]:
    """(kernel [D, C_i], bias [C_i], first class id) of each part of a Dense layer or a
    ShardedClassifier."""
    if hasattr(classifier, "kernels"):
        return list(zip(classifier.kernels, classifier.biases, classifier.offsets))
    return [(classifier.kernel, classifier.bias, 0)]


def rebalanced(kernel: np.ndarray, bias: np.ndarray, adjustment: str, tau: float,
               log_prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (kernel [D, C], bias [C]) of the re-balanced classifier; log_prior [C]."""
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"unknown long_tail.adjustment '{adjustment}' (known: {', '.join(ADJUSTMENTS)})")
    if adjustment == "posthoc":
        return kernel, bias - tau * log_prior
    if adjustment in REPLACING:
        raise ValueError(f"{adjustment} replaces the weights by {REPLACING[adjustment]}, not an edit of them")
    if adjustment == "tau_norm":
        norms = np.maximum(np.linalg.norm(kernel, axis=0, keepdims=True), 1e-12)
        return kernel / norms**tau, np.zeros_like(bias)
    return kernel, bias


def apply_rebalancing(classifier, adjustment: str, tau: float, log_prior: np.ndarray) -> None:
    """Edits the classifier's variables in place (each class's column on its own, so the
    whole kernel at once gives each part's columns)."""
    apply_kernel(classifier, *rebalanced(*full_weights(classifier), adjustment, tau, log_prior))


def apply_kernel(classifier, kernel: np.ndarray, bias: np.ndarray) -> None:
    """Sets the classifier's weights to ``kernel`` [D, C] and ``bias`` [C] (each part its
    own columns)."""
    for k, b, first in classifier_columns(classifier):
        width = int(k.shape[1])
        k.assign(kernel[:, first: first + width].astype(np.asarray(k.numpy()).dtype))
        b.assign(bias[first: first + width].astype(np.asarray(b.numpy()).dtype))


def full_weights(classifier) -> tuple[np.ndarray, np.ndarray]:
    parts = classifier_columns(classifier)
    return (np.concatenate([np.asarray(k.numpy()) for k, _, _ in parts], axis=1),
            np.concatenate([np.asarray(b.numpy()) for _, b, _ in parts]))


def top1_accuracy(features: np.ndarray, labels: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                  batch: int = 512) -> float:
    hits = 0
    for start in range(0, len(labels), batch):
        logits = features[start: start + batch] @ kernel + bias
        hits += int(np.sum(np.argmax(logits, axis=1) == labels[start: start + batch]))
    return hits / max(1, len(labels))


def select_tau(features: np.ndarray, labels: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
               adjustment: str, taus: list[float], log_prior: np.ndarray) -> tuple[float, dict[float, float]]:
    """(the tau of the best validation top-1, top-1 per tau); features [N, D] of the
    validation images, labels [N] their class ids."""
    accuracy = {
        float(tau): top1_accuracy(features, labels, *rebalanced(kernel, bias, adjustment, tau, log_prior))
        for tau in sorted(taus)
    }
    return best_tau(accuracy), accuracy


def best_tau(accuracy: dict[float, float]) -> float:
    """The tau of the best validation top-1 in ``{tau: top-1}``, the smaller tau on a tie."""
    if not accuracy:
        raise ValueError("long_tail.adjustment_taus is empty")
    best = max(accuracy.values())
    return min(t for t, a in accuracy.items() if a == best)
