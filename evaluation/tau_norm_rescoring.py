"""Tau-normalisation of models already trained: ``sicot report RUN_DIR --rescore tau_norm``.

Kang et al. (ICLR 2020, "Decoupling representation and classifier") re-balance a
classifier trained on long-tailed data after training: each class's weight vector is
divided by its norm to the power tau and the bias is dropped,
``z_j = x . w_j / ||w_j||**tau`` (``long_tail.adjustment: tau_norm``,
models/classifier_rebalancing.py, which the Trainer applies before export when a model
is trained as ``<variant>+tau_norm``). The representation stays the one trained, so any
model trained without a re-balancing can be tau-normalised afterwards.

Unlike the post-hoc logit adjustment (evaluation/posthoc_rescoring.py), this ranking
cannot be read off a model's probabilities: dividing each class's logit by its own norm
does not commute with the softmax's normaliser, one unknown constant per image. So the
re-scoring edits the evaluation model itself, in memory: it loads the SavedModel, writes
the re-balanced kernel and a zero bias into its classifier's variables
(``classifier/kernel`` and ``classifier/bias`` of a Dense or cosine classifier,
``classifier/kernel_<i>`` and ``classifier/bias_<i>`` of a sharded one, each shard its
own columns), runs ``predict_examples``, and writes the trained weights back. Nothing on
disk changes.

tau is chosen for each model on the validation split by the Trainer's rule (the grid
``long_tail.adjustment_taus``, the best top-1, the smaller tau on a tie:
``classifier_rebalancing.best_tau``); the model is then scored on the comparison's
split, into the same tables as TFMA's (evaluation/posthoc_rescoring.slice_metrics).
For one training run the result is the variant ``<variant>+tau_norm`` trained with the
same seed and data, which trains the same model and edits it the same way before export
(tests/evaluation_report_e2e_test.py checks it on a trained pair).

Cost: one pass of the model over the validation split per tau (7 with the default grid)
and one over the scored split when that is the test split.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from evaluation.posthoc_rescoring import (
    SplitScores,
    check_rescorable,
    class_log_prior,
    evaluation_model,
    known_classes,
    log_probabilities,
    rescored_result,
    split_dir,
    split_labels,
)
from evaluation.rescoring_names import TAU_NORM
from evaluation.run_results import ModelResult, RunResultsError
from models.classifier_rebalancing import best_tau, rebalanced

# The classifier's variables in an exported model (models/sicot_model.py names the layer
# "classifier"; a ShardedClassifier numbers its kernels and biases by shard).
_CLASSIFIER_VARIABLE = re.compile(r"^classifier/(kernel|bias)(?:_(\d+))?(?::\d+)?$")


def classifier_variables(loaded, model_dir: str = "") -> list[tuple[object, object]]:
    """(kernel [D, C_i], bias [C_i]) of each part of the loaded model's classifier, in
    class order (one part for a Dense or cosine classifier, one per shard)."""
    found: dict[tuple[str, int], object] = {}
    for variable in getattr(loaded, "exported_variables", []):
        match = _CLASSIFIER_VARIABLE.match(variable.name)
        if match:
            found[(match.group(1), int(match.group(2) or 0))] = variable
    shards = sorted({shard for _, shard in found})
    if not shards or any(("kernel", s) not in found or ("bias", s) not in found for s in shards):
        raise RunResultsError(f"{model_dir or 'the model'}: no classifier kernel and bias among its variables "
                              f"(classifier/kernel, classifier/bias), so it cannot be tau-normalised")
    return [(found[("kernel", s)], found[("bias", s)]) for s in shards]


@contextlib.contextmanager
def classifier_weights(parts: list[tuple[object, object]], kernel: np.ndarray, bias: np.ndarray):
    """Within the block, the classifier's variables hold ``kernel`` [D, C] and ``bias``
    [C] (split by the parts' columns); afterwards, their own values again."""
    saved = [(k.numpy(), b.numpy()) for k, b in parts]
    try:
        first = 0
        for (k, b), (k_value, _) in zip(parts, saved):
            width = k_value.shape[1]
            k.assign(kernel[:, first: first + width].astype(k_value.dtype))
            b.assign(bias[first: first + width].astype(k_value.dtype))
            first += width
        yield
    finally:
        for (k, b), (k_value, b_value) in zip(parts, saved):
            k.assign(k_value)
            b.assign(b_value)


def rescored(model: ModelResult, say=None) -> ModelResult:
    """``model`` with its classifier tau-normalised, tau chosen on the validation split,
    scored on the model's split; variant ``<variant>+tau_norm``."""
    check_rescorable(model)
    loaded = evaluation_model(model.model_dir)
    parts = classifier_variables(loaded, model.model_dir)
    kernel = np.concatenate([k.numpy() for k, _ in parts], axis=1).astype(np.float64)
    bias = np.concatenate([b.numpy() for _, b in parts]).astype(np.float64)
    log_prior = class_log_prior(model)  # not read by tau_norm; rebalanced() takes it for every adjustment

    def scores_at(tau: float, examples_dir) -> np.ndarray:
        if evaluation_model(model.model_dir) is not loaded:  # log_probabilities must run the edited model
            raise RuntimeError(f"{model.model_dir} was loaded again while its classifier was being re-balanced")
        with classifier_weights(parts, *rebalanced(kernel, bias, TAU_NORM, tau, log_prior)):
            return log_probabilities(model.model_dir, examples_dir)

    validation_dir = split_dir(model, "validation")
    labels, slice_values = split_labels(model.model_dir, validation_dir)
    known = known_classes(labels, model, validation_dir)
    accuracy, best, best_log_probs = {}, -1.0, None
    for tau in sorted(float(t) for t in model.config.long_tail.adjustment_taus):
        log_probs = scores_at(tau, validation_dir)
        accuracy[tau] = float(np.mean(np.argmax(log_probs[known], axis=1) == labels[known]))
        if accuracy[tau] > best:  # best_tau's rule: the best top-1, the smaller tau on a tie
            best, best_log_probs = accuracy[tau], log_probs
    tau = best_tau(accuracy)
    if model.split == "validation":
        scored = SplitScores(log_probs=best_log_probs, labels=labels, slice_values=slice_values)
    else:
        scored_dir = split_dir(model, model.split)
        scored = SplitScores(scores_at(tau, scored_dir), *split_labels(model.model_dir, scored_dir))
    return rescored_result(model, TAU_NORM, scored.log_probs, scored, accuracy, tau, say)
