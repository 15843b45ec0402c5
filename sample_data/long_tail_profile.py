"""Per-class training counts with a long-tail profile.

CIFAR-LT's exponential profile (Cui et al. 2019; Cao et al. 2019) gives class ``r`` of
``C`` (0 = most frequent) ``n_max * mu**r`` images, with ``mu`` chosen so that the
last class has ``n_min``. Its mean is about ``n_max / ln(n_max / n_min)``, so an
imbalance ratio of 60 costs about 15 images per class: at 500 classes, more images than
a 2-core CPU trains on in minutes. Real catalogues (and ImageNet-LT's Pareto profile)
end instead in a long flat tail of classes with one or two images. Here the exponential
decay runs over the first ``decay_share`` of the classes only, from ``n_max`` down to
``n_min``, and every later class has ``n_min``:

    n_r = max(n_min, round(n_max * (n_min / n_max) ** (r / (decay_share * (C - 1)))))

``decay_share = 1`` is CIFAR-LT's profile exactly. The imbalance ratio is
``n_max / n_min``.
"""

from __future__ import annotations


def long_tail_counts(classes: int, n_max: int, n_min: int = 1, decay_share: float = 1.0) -> list[int]:
    """Counts for ranks 0..classes-1, non-increasing, from n_max to n_min."""
    if classes < 1 or n_min < 1 or n_max < n_min:
        raise ValueError(f"need classes >= 1 and n_max >= n_min >= 1, got {classes}, {n_max}, {n_min}")
    if not 0.0 < decay_share <= 1.0:
        raise ValueError(f"decay_share must be in (0, 1], got {decay_share}")
    if classes == 1:
        return [n_max]
    span = decay_share * (classes - 1)
    ratio = n_min / n_max
    return [max(n_min, round(n_max * ratio ** min(1.0, r / span))) for r in range(classes)]


def imbalance_ratio(counts: list[int]) -> float:
    return max(counts) / min(counts)
