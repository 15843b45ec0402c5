"""Classifier re-training of models already trained: ``sicot report RUN_DIR --rescore crt``.

Kang et al.'s cRT (models/classifier_retraining.py, which the Trainer applies before
export when a model is trained as ``<variant>+crt``): the linear classifier trained
again from a fresh start on the training split's features, every class sampled
equally often, with the model's ``long_tail.crt_*`` settings and its seed. As for the
nearest class mean (evaluation/ncm_rescoring.py), the features are read through the
loaded evaluation model's classifier, the new kernel and bias are written into its
variables for the scoring, and the trained weights are put back (the model on disk
does not change). Nothing is chosen on the validation split.

Cost: the probe's pass over the training split, then the fit (numpy; for the SKU
benchmark 10 epochs of 15,000 class-balanced samples of 256-d features, seconds).
"""

from __future__ import annotations

from evaluation.ncm_rescoring import (
    check_probeable,
    features_through_classifier,
    rescored_with_kernel,
    training_split,
)
from evaluation.posthoc_rescoring import check_rescorable
from evaluation.run_results import ModelResult
from models.classifier_retraining import retrained_classifier, settings_from_config

CRT = "crt"


def rescored(model: ModelResult, say=None) -> ModelResult:
    """``model`` with its classifier trained again on its training split's features with
    class-balanced sampling, scored on the model's split; variant ``<variant>+crt``."""
    check_rescorable(model)
    check_probeable(model)
    train = training_split(model)
    features = features_through_classifier(model.model_dir, train.parts, train.folder)
    settings = settings_from_config(model.config)
    kernel, bias = retrained_classifier(features, train.labels, train.classes, settings, model.config.train.seed)
    what = (f"classifier trained again on {len(train.labels)} training images' features, classes sampled "
            f"equally often ({settings.epochs} epochs)")
    return rescored_with_kernel(model, CRT, train.parts, kernel, what, say, bias=bias)
