"""Classifier re-training with class-balanced sampling (cRT; Kang et al., ICLR 2020,
"Decoupling representation and classifier", Sec. 4.2): ``long_tail.adjustment: crt``.

Keep a long-tailed model's representation and train its linear classifier again from
a fresh start, on the training images' features, with every class drawn equally
often: Kang et al.'s ``ClassAwareSampler`` (facebookresearch ``classifier-balancing``,
``data/ClassAwareSampler.py``) cycles through the classes in a shuffled order and
takes ``crt_samples_per_class`` consecutive examples of each from that class's own
shuffled cycle, so a class with one training image is seen as often as one with 50.
Their ImageNet-LT recipe (``config/ImageNet_LT/cls_crt.yaml``), the defaults here:
classifier re-initialised (PyTorch ``nn.Linear``: weights and bias uniform in
``+-1/sqrt(D)``), 10 epochs of (the largest class's count) x (the classes) samples
(the sampler's length: an epoch shows every class as often as the largest), batch 512,
SGD lr 0.2 with momentum 0.9 (PyTorch's form: ``v <- m v + g``, ``w <- w - lr v``),
weight decay 5e-4 on the weights and the bias, the learning rate annealed to 0 by a
cosine over the epochs, softmax cross-entropy. ImageNet-LT few-shot top-1, ResNeXt-50:
7.7 with the jointly trained classifier, 27.4 with cRT (their README).

One difference, for speed: the features are read once, without augmentation (Kang et
al. run the frozen backbone on augmented images each epoch). That is a second pass
over the training split and a [N, D] matrix in memory, not a second training; the
fit itself is numpy matrix products. Nothing is chosen on the validation split. The
result is a [D, C] kernel and a [C] bias, which the Trainer writes into the Dense or
the sharded classifier (models/classifier_rebalancing.apply_kernel) before export, so
the serving signature stays the image-only top-k.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sicot.config import SicotConfig


@dataclasses.dataclass(frozen=True)
class RetrainingSettings:
    epochs: int = 10
    batch_size: int = 512
    learning_rate: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    samples_per_class: int = 4


def settings_from_config(config: SicotConfig) -> RetrainingSettings:
    """The long_tail.crt_* settings (momentum: Kang et al.'s 0.9)."""
    lt = config.long_tail
    return RetrainingSettings(epochs=lt.crt_epochs, batch_size=lt.crt_batch_size, learning_rate=lt.crt_learning_rate,
                              weight_decay=lt.crt_weight_decay, samples_per_class=lt.crt_samples_per_class)


def class_aware_indices(labels: np.ndarray, count: int, samples_per_class: int,
                        rng: np.random.Generator) -> np.ndarray:
    """``count`` example indices, class-balanced: the classes that have examples in a
    shuffled cycle (reshuffled at each pass), ``samples_per_class`` consecutive
    examples of each from that class's own shuffled cycle (reshuffled when used up)."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if not len(classes):
        raise ValueError("class-balanced sampling needs at least one labelled example")
    # Each class's example indices in ascending order, from one stable sort
    # (O(N log N); a comparison per class would be O(N x C)).
    members = dict(zip(classes, np.split(np.argsort(labels, kind="stable"), np.cumsum(counts)[:-1])))
    queues = {c: rng.permutation(members[c]) for c in classes}
    positions = {c: 0 for c in classes}
    out, class_cycle, next_class = [], rng.permutation(classes), 0
    while len(out) < count:
        if next_class == len(class_cycle):
            class_cycle, next_class = rng.permutation(classes), 0
        c = class_cycle[next_class]
        next_class += 1
        for _ in range(samples_per_class):
            if positions[c] == len(queues[c]):
                queues[c], positions[c] = rng.permutation(members[c]), 0
            out.append(queues[c][positions[c]])
            positions[c] += 1
    return np.asarray(out[:count], dtype=np.int64)


def fit_order(labels: np.ndarray, epochs: int, steps: int, batch_size: int, samples_per_class: int,
              rng: np.random.Generator) -> np.ndarray:
    """The example indices of the whole fit, [epochs, steps * batch_size]: one
    class-aware sampler for all epochs, so its class cycle and each class's own cycle
    carry over from one epoch to the next (Kang et al.'s sampler is one iterator for
    the whole training), and the class lookups are done once."""
    per_epoch = steps * batch_size
    return class_aware_indices(labels, epochs * per_epoch, samples_per_class, rng).reshape(epochs, per_epoch)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def retrained_classifier(features: np.ndarray, labels: np.ndarray, num_classes: int,
                         settings: RetrainingSettings = RetrainingSettings(),
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(kernel [D, C], bias [C]) of a linear softmax classifier trained from a fresh
    start on ``features`` [N, D] with class-balanced batches (module docstring).
    Examples whose label is outside [0, num_classes) are left out; a class with no
    example is never a target, so its logit is only pushed down (its softmax share of
    every batch's gradient, and the weight decay)."""
    labels = np.asarray(labels, dtype=np.int64)
    known = (labels >= 0) & (labels < num_classes)
    x, y = np.asarray(features, dtype=np.float64)[known], labels[known]
    if not len(y):
        raise ValueError("classifier re-training needs the training images' features; none has a known label")
    rng = np.random.default_rng(seed)
    dims = x.shape[1]
    bound = 1.0 / np.sqrt(dims)
    kernel = rng.uniform(-bound, bound, (dims, num_classes))
    bias = rng.uniform(-bound, bound, num_classes)
    velocity_k, velocity_b = np.zeros_like(kernel), np.zeros_like(bias)
    present, counts = np.unique(y, return_counts=True)
    steps = int(np.ceil(counts.max() * len(present) / settings.batch_size))
    orders = fit_order(y, settings.epochs, steps, settings.batch_size, settings.samples_per_class, rng)
    for epoch, order in enumerate(orders):
        lr = 0.5 * settings.learning_rate * (1.0 + np.cos(np.pi * epoch / settings.epochs))
        for step in range(steps):
            batch = order[step * settings.batch_size: (step + 1) * settings.batch_size]
            xb = x[batch]
            error = _softmax(xb @ kernel + bias)
            error[np.arange(len(batch)), y[batch]] -= 1.0  # d CE / d logits, per example
            error /= len(batch)
            grad_k = xb.T @ error + settings.weight_decay * kernel
            grad_b = error.sum(axis=0) + settings.weight_decay * bias
            velocity_k = settings.momentum * velocity_k + grad_k
            velocity_b = settings.momentum * velocity_b + grad_b
            kernel -= lr * velocity_k
            bias -= lr * velocity_b
    return kernel, bias
