"""Nearest-class-mean classifier of models already trained: ``sicot report RUN_DIR --rescore ncm``.

The nearest class mean of Kang et al. (models/nearest_class_mean.py, which the Trainer
applies before export when a model is trained as ``<variant>+ncm``) is the linear
classifier with no bias

    z_j = x . mu_j / ||mu_j||        (mu_j: the mean feature x of class j's training images)

So the re-scoring, like tau-normalisation (evaluation/tau_norm_rescoring.py), writes a kernel
and a zero bias into the loaded evaluation model's classifier variables, scores, and
writes the trained weights back (Dense and sharded classifiers alike; the model on disk
does not change). Unlike the other re-balancings it has no tau: nothing is chosen on
the validation split, so its validation numbers are not optimistic. A class that no
bias and no weight norm favours is the point: every class's mean has norm 1, whether it
came from 1 training image or 50. Such a classifier is image-only, like any other
weights of the same shape.

Reading the features: the evaluation model's signatures end in the classifier's
softmax, and an exported model keeps no signature for the feature before it. So the
features are read through the classifier itself (``features_through_classifier``): with
the kernel set to ``PROBE_SCALE`` times the identity on up to C - 1 feature dimensions
and a zero column, and zero bias, ``log p_i - log p_zero = PROBE_SCALE * x_i`` exactly
(the softmax's normaliser cancels); a model with at most as many classes as feature
dimensions takes ``ceil(D / (C - 1))`` passes. The scale keeps the logits near 0, so
float32 probabilities lose nothing (about 1e-5 on a feature).

Cost: one pass of the model over the training split (C >= D + 1) and one over the
validation split and, when it is the scored split, over the test split. A model whose
classifier normalises its own weights (``model.classifier: cosine``) cannot be probed
this way and is refused.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from evaluation.posthoc_rescoring import (
    SplitScores,
    check_rescorable,
    evaluation_model,
    kept_for_loaded_model,
    known_classes,
    log_probabilities,
    rescored_result,
    split_dir,
    split_labels,
)
from evaluation.rescoring_names import NCM
from evaluation.run_results import ModelResult, RunResultsError
from evaluation.tau_norm_rescoring import classifier_variables, classifier_weights
from models.nearest_class_mean import class_means, classes_without_mean, ncm_kernel

TRAIN_SPLIT = "Split-train"
# The probe's logits are PROBE_SCALE * x: small, so that no probability underflows or
# rounds away; features larger than MAX_PROBED / PROBE_SCALE are refused.
PROBE_SCALE = 1e-2
MAX_PROBED = 30.0


# The last probed split: ncm, crt and ncm_title of one model read the same training
# split (posthoc_rescoring.kept_for_loaded_model).
_last_probed: list = []  # [(loaded model, (model_dir, examples_dir, scale), features)]


def features_through_classifier(model_dir: str, parts, examples_dir, scale: float = PROBE_SCALE) -> np.ndarray:
    """[N, D] the feature each example's image gives the classifier, read through the
    loaded evaluation model's softmax with probe kernels (the module docstring); the
    last split read is kept and given again (a copy) for the same loaded model and folder."""
    key = (str(model_dir), str(examples_dir), float(scale))
    return kept_for_loaded_model(_last_probed, evaluation_model(model_dir), key,
                                 lambda: _probed_features(model_dir, parts, examples_dir, scale)).copy()


def _probed_features(model_dir: str, parts, examples_dir, scale: float) -> np.ndarray:
    loaded = evaluation_model(model_dir)
    dims = int(parts[0][0].shape[0])
    classes = sum(int(k.shape[1]) for k, _ in parts)
    if classes < 2:
        raise RunResultsError(f"{model_dir}: a classifier of {classes} class cannot be probed for its features")
    per_pass = classes - 1  # the last class's column stays zero: the reference logit
    blocks = []
    for first in range(0, dims, per_pass):
        width = min(per_pass, dims - first)
        kernel = np.zeros((dims, classes))
        kernel[first + np.arange(width), np.arange(width)] = scale
        if evaluation_model(model_dir) is not loaded:  # the probe must run the edited model
            raise RuntimeError(f"{model_dir} was loaded again while its classifier was being probed")
        with classifier_weights(parts, kernel, np.zeros(classes)):
            log_probs = log_probabilities(model_dir, examples_dir)
        probed = log_probs[:, :width] - log_probs[:, classes - 1: classes]
        if np.max(np.abs(probed), initial=0.0) > MAX_PROBED:
            raise RunResultsError(f"{model_dir}: features beyond {MAX_PROBED / scale:g} in magnitude; "
                                  f"probe with a smaller scale")
        blocks.append(probed / scale)
    return np.concatenate(blocks, axis=1)


def check_probeable(model: ModelResult) -> None:
    if model.config.model.classifier != "dense":
        raise ValueError(f"{model.variant}: a {model.config.model.classifier} classifier normalises its own "
                         f"weights, so its features cannot be read through it (it needs model.classifier: dense)")


def rescored(model: ModelResult, say=None) -> ModelResult:
    """``model`` with the nearest-class-mean classifier of its training split's features,
    scored on the model's split; variant ``<variant>+ncm``."""
    check_rescorable(model)
    check_probeable(model)
    train = training_split(model)
    means = class_means(features_through_classifier(model.model_dir, train.parts, train.folder), train.labels,
                        train.classes)
    check_every_class_has_a_mean(means, model, f"training image in {train.folder}")
    return rescored_with_kernel(model, NCM, train.parts, ncm_kernel(means),
                                f"class means of {len(train.labels)} training images", say)


@dataclasses.dataclass
class TrainingSplit:
    parts: list  # the loaded evaluation model's classifier variables (tau_norm_rescoring.classifier_variables)
    classes: int
    folder: Path  # the training split's examples
    labels: np.ndarray  # [N] their class ids


def training_split(model: ModelResult) -> TrainingSplit:
    """The model's classifier variables and the training split it was trained on."""
    parts = classifier_variables(evaluation_model(model.model_dir), model.model_dir)
    folder = split_dir(model, "validation").parent / TRAIN_SPLIT
    labels, _ = split_labels(model.model_dir, folder)
    return TrainingSplit(parts, sum(int(k.shape[1]) for k, _ in parts), folder, labels)


def check_every_class_has_a_mean(means: np.ndarray, model: ModelResult, of_what: str) -> None:
    empty = classes_without_mean(means)
    if empty:
        raise RunResultsError(f"{model.variant}, seed {model.seed}: {empty} classes have no {of_what}, "
                              f"so no class mean")


def rescored_with_kernel(model: ModelResult, method: str, parts, kernel: np.ndarray, what: str,
                         say=None, bias: np.ndarray | None = None) -> ModelResult:
    """``model`` scored with ``kernel`` [D, C] and ``bias`` [C] (default zero) in its
    classifier (``parts``: its variables, ``TrainingSplit.parts``), on the model's split
    (and the validation split, for the top-1 it reports); variant
    ``<variant>+<method>``. ``what`` says where the kernel came from."""
    loaded = evaluation_model(model.model_dir)
    bias = np.zeros(kernel.shape[1]) if bias is None else bias

    def scores(examples_dir) -> SplitScores:
        labels, slice_values = split_labels(model.model_dir, examples_dir)
        if evaluation_model(model.model_dir) is not loaded:
            raise RuntimeError(f"{model.model_dir} was loaded again while its classifier was being replaced")
        with classifier_weights(parts, kernel, bias):
            return SplitScores(log_probabilities(model.model_dir, examples_dir), labels, slice_values)

    validation_dir = split_dir(model, "validation")
    validation = scores(validation_dir)
    known = known_classes(validation.labels, model, validation_dir)
    accuracy = float(np.mean(np.argmax(validation.log_probs[known], axis=1) == validation.labels[known]))
    scored = validation if model.split == "validation" else scores(split_dir(model, model.split))
    result = rescored_result(model, method, scored.log_probs, scored, {}, float("nan"))
    if say:
        scored_top1 = ("" if model.split == "validation"
                       else f"; {model.split} top-1 {100 * result.slices['overall']['top1_accuracy']:.1f}%")
        say(f"{result.variant}, seed {model.seed}: {what}; validation top-1 {100 * accuracy:.1f}%{scored_top1}")
    return result
