"""A fake evaluation model for the re-scoring tests: real classifier variables, and
logits = features @ kernel + bias for each split folder's given features."""

from __future__ import annotations

import types

import numpy as np
import tensorflow as tf


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def install(monkeypatch, module, kernel_value: np.ndarray, bias_value: np.ndarray,
            splits: dict[str, tuple[np.ndarray, np.ndarray]]):
    """Replaces ``module``'s evaluation_model, log_probabilities and split_labels by the
    fake's; ``splits``: folder name -> ([N, D] features, [N] class ids; class 0 is the
    head). Returns (kernel, bias, the folder names scored, in order)."""
    kernel = tf.Variable(kernel_value, name="classifier/kernel")
    bias = tf.Variable(bias_value, name="classifier/bias")
    loaded = types.SimpleNamespace(exported_variables=[tf.Variable(np.ones(2), name="visual_projection/bias"),
                                                       kernel, bias])
    read = []

    def log_probabilities(model_dir, examples_dir):
        read.append(examples_dir.name)
        return np.log(softmax(splits[examples_dir.name][0] @ kernel.numpy() + bias.numpy()))

    def split_labels(model_dir, examples_dir):
        labels = splits[examples_dir.name][1]
        groups = np.array(["head" if c == 0 else "tail" for c in labels], dtype=object)
        return labels, {"label_group": groups, "label_frequency_bucket": groups}

    monkeypatch.setattr(module, "evaluation_model", lambda model_dir: loaded)
    monkeypatch.setattr(module, "log_probabilities", log_probabilities)
    monkeypatch.setattr(module, "split_labels", split_labels)
    return kernel, bias, read
