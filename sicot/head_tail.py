"""Top-k accuracy overall and on head / tail classes (by training-image count).

A class is *head* when it has at least ``head_min_train_images`` training images, else
*tail*. Accuracies come example-weighted and averaged per class (the paper's test sets
hold about the same number of images per class, so the per-class mean is the faithful
number on unbalanced eval data).
"""

from __future__ import annotations

import numpy as np


def topk_hits(probabilities: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """[N] booleans: is the label among the k highest-scoring classes?"""
    k = min(k, probabilities.shape[1])
    top = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
    return (top == labels[:, None]).any(axis=1)


def slice_accuracies(
    probabilities: np.ndarray,
    labels: np.ndarray,
    train_counts: np.ndarray,
    head_min_train_images: int,
    ks: tuple[int, ...] = (1, 3),
) -> dict[str, dict[str, float]]:
    """{slice: {"top1": .., "top1_per_class": .., ..., "examples": n, "classes": c}}."""
    slices = {
        "overall": np.ones_like(labels, dtype=bool),
        "head": train_counts >= head_min_train_images,
        "tail": train_counts < head_min_train_images,
    }
    hits = {k: topk_hits(probabilities, labels, k) for k in ks}
    out = {}
    for name, member in slices.items():
        row = {"examples": int(member.sum()), "classes": int(len(np.unique(labels[member])))}
        for k in ks:
            h = hits[k][member]
            row[f"top{k}"] = float(h.mean()) if h.size else float("nan")
            per_class = [h[labels[member] == c].mean() for c in np.unique(labels[member])]
            row[f"top{k}_per_class"] = float(np.mean(per_class)) if per_class else float("nan")
        out[name] = row
    return out
