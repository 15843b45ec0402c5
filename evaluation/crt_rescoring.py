"""Classifier re-training of models already trained: ``sicot report RUN_DIR --rescore crt``.

Kang et al.'s cRT (models/classifier_retraining.py, which the Trainer applies before
export when a model is trained as ``<variant>+crt``): the linear classifier trained
again from a fresh start on the training split's features, every class sampled
equally often, with the model's ``long_tail.crt_*`` settings and its seed. As for the
nearest class mean (evaluation/ncm_rescoring.py), the features are read through the
loaded evaluation model's classifier, the new kernel and bias are written into its
variables for the scoring, and the trained weights are put back (the model on disk
does not change). Nothing is chosen on the validation split.

``crt_mixed`` (co-trained models): the same fit on the training images' visual
features and, for each image with a title, its mixed feature ``x_m = max(x_v, s)``
(models/mixed_stream.MixedStream, with the model's ``mixed_stream_scaling``; ``s``
from evaluation/title_ncm_rescoring.title_embeddings), the two sets pooled and sampled
class by class as one. That is SICoT's shared classifier trained again class-balanced
on both of the streams it was co-trained on: a tail class with one photo gets its
title's mixed feature as a second example. Titles are read only here, from the
training split; the re-trained classifier predicts from the image alone.

Cost: the probe's pass over the training split, then the fit (numpy; for the SKU
benchmark 10 epochs of 15,000 class-balanced samples of 256-d features, seconds);
``crt_mixed`` adds a pass of the title signatures over the training split.
"""

from __future__ import annotations

import numpy as np

from evaluation.ncm_rescoring import (
    check_probeable,
    features_through_classifier,
    rescored_with_kernel,
    training_split,
)
from evaluation.posthoc_rescoring import check_rescorable
from evaluation.rescoring_names import CRT, CRT_MIXED
from evaluation.run_results import ModelResult, RunResultsError
from evaluation.title_ncm_rescoring import check_title_encoder, title_embeddings
from models.classifier_retraining import retrained_classifier, settings_from_config
from models.mixed_stream import MixedStream


def rescored(model: ModelResult, say=None) -> ModelResult:
    """``model`` with its classifier trained again on its training split's features with
    class-balanced sampling, scored on the model's split; variant ``<variant>+crt``."""
    check_rescorable(model)
    check_probeable(model)
    train = training_split(model)
    features = features_through_classifier(model.model_dir, train.parts, train.folder)
    return _fitted_and_scored(model, CRT, train, features, train.labels,
                              f"{len(train.labels)} training images' features", say)


def rescored_mixed(model: ModelResult, say=None) -> ModelResult:
    """A co-trained ``model`` with its classifier trained again, class-balanced, on its
    training images' visual features and their titles' mixed features together (the
    module docstring), scored on the model's split; variant ``<variant>+crt_mixed``."""
    check_rescorable(model)
    check_probeable(model)
    check_title_encoder(model)
    train = training_split(model)
    visual = features_through_classifier(model.model_dir, train.parts, train.folder)
    semantic, titled = title_embeddings(model.model_dir, train.folder)
    if len(semantic) != len(visual):
        raise RunResultsError(f"{model.model_dir}: {len(visual)} training features but {len(semantic)} titles")
    mixed, _ = MixedStream(model.config.model.mixed_stream_scaling)(visual[titled], semantic[titled])
    return _fitted_and_scored(model, CRT_MIXED, train, np.concatenate([visual, np.asarray(mixed)]),
                              np.concatenate([train.labels, train.labels[titled]]),
                              f"{len(train.labels)} training images' features and the mixed features of the "
                              f"{int(np.sum(titled))} with a title", say)


def _fitted_and_scored(model: ModelResult, method: str, train, features, labels, of_what: str,
                       say=None) -> ModelResult:
    """The classifier trained again on ``features`` / ``labels`` with the model's
    ``long_tail.crt_*`` settings and seed, written into the model and scored."""
    settings = settings_from_config(model.config)
    kernel, bias = retrained_classifier(features, labels, train.classes, settings, model.config.train.seed)
    what = f"classifier trained again on {of_what}, classes sampled equally often ({settings.epochs} epochs)"
    return rescored_with_kernel(model, method, train.parts, kernel, what, say, bias=bias)
