"""The Trainer component's run_fn (TFX generic Trainer, Keras 3): the orchestration.

The parts live in modules named after them: the input pipeline
(models/input_pipeline.py), the optimizer and schedule (training/learning_rate_schedule.py),
the phased, resumable fit loop (training/phased_fit.py), the export
(models/export.py). Here: the word-vector start, the classifier re-balancing after
training, and ``train_and_export`` / ``run_fn`` tying them together.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models import class_prior, features
from models.classifier_rebalancing import (
    REPLACING,
    apply_kernel,
    apply_rebalancing,
    full_weights,
    select_tau,
)
from models.classifier_retraining import retrained_classifier, settings_from_config
from models.nearest_class_mean import class_means, classes_without_mean, ncm_kernel
from models.export import export_recognition_models
from models.input_pipeline import make_dataset
from models import custom_config as custom_config_contract
from models.preprocessing import read_label_frequencies
from models.sicot_model import build_sicot_model
from models.word_vectors import aligned_embedding_matrix, load_word_vectors
from sicot.config import SicotConfig
from sicot.console import detail
from training.distribution import is_chief, serve_cluster_task, strategy_from_config, task_path
from training.learning_rate_schedule import steps_per_epoch
from training.phased_fit import fit_with_warmup


def initial_word_vectors(
    config: SicotConfig, tft_output: tft.TFTransformOutput, log_dir: str | None, word_vectors_uri: str | None = None
):
    """The initial word embedding table (rows = token ids), or None for a random start.

    A pretrained file (model.word_vectors) wins; else the vectors of the pipeline's
    TitleWord2Vec step (word_vectors_uri).
    """
    if not config.model.co_training:
        return None
    if not config.model.word_vectors:
        if not word_vectors_uri:
            return None
        vectors = load_word_vectors(word_vectors_uri)
        detail(f"word vectors: the word2vec step's {vectors.shape[0] - 1} x {vectors.shape[1]}")
        return vectors
    vocabulary = [w.decode("utf-8") for w in tft_output.vocabulary_by_name(features.WORD_VOCABULARY)]
    alignment = aligned_embedding_matrix(
        vocabulary, config.model.word_vectors, config.model.word_vectors_format, config.train.seed
    )
    message = (
        f"word vectors {config.model.word_vectors}: {alignment.found} of {alignment.vocabulary} "
        f"vocabulary words found (coverage {alignment.coverage:.1%}), dim {alignment.matrix.shape[1]}"
    )
    detail(message)
    if log_dir:
        write_log(log_dir, "word_vectors.txt", message + "\n")
    return alignment.matrix


def write_log(log_dir: str, name: str, text: str) -> None:
    """A file of the Trainer's logs (the ModelRun artifact): through tf.io.gfile, as
    that artifact is a bucket's folder (gs://...) on a cloud pipeline root."""
    with tf.io.gfile.GFile(os.path.join(log_dir, name), "w") as f:
        f.write(text)


def class_counts_by_id(tft_output: tft.TFTransformOutput) -> np.ndarray:
    """[C] training images per class id (the label vocabulary's order)."""
    counts = read_label_frequencies(tft_output)
    labels = [v.decode("utf-8") for v in tft_output.vocabulary_by_name(features.LABEL_VOCABULARY)]
    return np.array([counts.get(label, 0) for label in labels], dtype=np.int64)


def visual_features_of(model, ds) -> tuple[np.ndarray, np.ndarray]:
    """([N, D] the visual feature the classifier sees, [N] class ids) of a dataset's
    (inputs, label) batches, in inference mode; empty arrays for an empty dataset."""
    feats, labels = [], []
    for x, y in ds:
        feats.append(model.visual_features(x[features.IMAGE_PIXELS], training=False).numpy())
        labels.append(y.numpy())
    if not feats:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return np.concatenate(feats), np.concatenate(labels)


def rebalance_classifier(model, config: SicotConfig, validation_ds, class_counts: np.ndarray,
                         log_dir: str | None) -> dict:
    """long_tail.adjustment on the trained classifier (models/classifier_rebalancing.py),
    with tau chosen on the validation split when long_tail.adjustment_tau < 0."""
    lt = config.long_tail
    log_prior = class_prior.log_prior(class_counts)
    tau, accuracy = lt.adjustment_tau, {}
    if tau < 0:
        feats, labels = visual_features_of(model, validation_ds)
        if not len(labels):
            raise ValueError("long_tail.adjustment_tau < 0 picks tau on the validation split, which is empty")
        kernel, bias = full_weights(model.classifier)
        tau, accuracy = select_tau(feats, labels, kernel, bias, lt.adjustment, lt.adjustment_taus, log_prior)
        tried = ", ".join(f"{t:g}: {100 * a:.1f}%" for t, a in accuracy.items())
        detail(f"{lt.adjustment} re-balancing: validation top-1 by tau {tried}; tau = {tau:g}")
    else:
        detail(f"{lt.adjustment} re-balancing with tau = {tau:g}")
    apply_rebalancing(model.classifier, lt.adjustment, tau, log_prior)
    record = {"adjustment": lt.adjustment, "tau": tau, "validation_top1_by_tau": {str(k): v for k, v in accuracy.items()}}
    if log_dir:
        write_log(log_dir, "classifier_rebalancing.json", json.dumps(record, indent=2))
    return record


def replace_classifier(model, config: SicotConfig, train_ds, num_classes: int, log_dir: str | None) -> dict:
    """long_tail.adjustment ncm or crt: the classifier's weights are replaced, from the
    training images' features (``train_ds``: the training split once, not augmented), by
    their class means, L2-normalised, with a zero bias (models/nearest_class_mean.py),
    or by a classifier trained again on them with class-balanced sampling
    (models/classifier_retraining.py)."""
    adjustment = config.long_tail.adjustment
    feats, labels = visual_features_of(model, train_ds)
    if not len(labels):
        raise ValueError(f"long_tail.adjustment {adjustment} needs the training images' features; "
                         f"the training split is empty")
    if adjustment == "ncm":
        means = class_means(feats, labels, num_classes)
        empty = classes_without_mean(means)
        apply_kernel(model.classifier, ncm_kernel(means), np.zeros(num_classes))
        detail(f"ncm classifier: the class means of {len(labels)} training images"
               + (f"; {empty} classes have none and score 0" if empty else ""))
        record = {"adjustment": "ncm", "train_images": int(len(labels)), "classes_without_mean": empty}
    else:
        settings = settings_from_config(config)
        apply_kernel(model.classifier, *retrained_classifier(feats, labels, num_classes, settings, config.train.seed))
        detail(f"crt classifier: trained again on the features of {len(labels)} training images, "
               f"classes sampled equally often ({settings.epochs} epochs)")
        record = {"adjustment": "crt", "train_images": int(len(labels)), "settings": dataclasses.asdict(settings)}
    if log_dir:
        write_log(log_dir, "classifier_rebalancing.json", json.dumps(record, indent=2))
    return record


def train_and_export(
    config: SicotConfig,
    train_patterns: list[str],
    eval_patterns: list[str],
    transform_output: str,
    serving_model_dir: str,
    log_dir: str | None = None,
    word_vectors_uri: str | None = None,
    eval_model_dir: str | None = None,
) -> keras.callbacks.History | None:
    """Trains (under the configured tf.distribute strategy) and exports the serving
    model (and, with eval_model_dir, the evaluation model: models/export.py).

    In a parameter-server cluster, worker and ps tasks serve and return None; in a
    multi-worker cluster only the chief writes serving_model_dir.
    """
    if serve_cluster_task(config):
        return None
    strategy = strategy_from_config(config)
    keras.utils.set_random_seed(config.train.seed)
    tft_output = tft.TFTransformOutput(transform_output)
    class_counts = class_counts_by_id(tft_output)
    num_classes = len(class_counts)
    steps = steps_per_epoch(config, int(class_counts.sum()))

    # Word ids run from 1 to the vocabulary size (0 is padding).
    vocab_size = tft_output.vocabulary_size_by_name(features.WORD_VOCABULARY) + 1
    word_vectors = initial_word_vectors(config, tft_output, log_dir, word_vectors_uri)
    with strategy.scope():
        model = build_sicot_model(config, num_classes, vocab_size, word_vectors, class_counts, steps)
    callbacks = []
    if log_dir:
        callbacks.append(keras.callbacks.CSVLogger(os.path.join(log_dir, "training_log.csv"), append=True))
    validation_ds = make_dataset(eval_patterns, tft_output, config, training=False)
    history = fit_with_warmup(
        model,
        config,
        lambda: make_dataset(train_patterns, tft_output, config, training=True),
        validation_ds,
        steps,
        callbacks,
        backup_dir=task_path(config.train_backup_dir) if config.train.checkpoint_every_steps > 0 else None,
    )
    if not is_chief():
        return history
    if config.long_tail.adjustment in REPLACING:
        replace_classifier(model, config, make_dataset(train_patterns, tft_output, config, training=False),
                           num_classes, log_dir)
    elif config.long_tail.adjustment != "none":
        rebalance_classifier(model, config, validation_ds, class_counts, log_dir)
    export_recognition_models(
        model.inference_model(),
        tft_output,
        config,
        serving_model_dir,
        eval_model_dir,
        model.semantic,
        sharded_head=(model.visual, model.classifier) if model.sharded else None,
    )
    return history


def run_fn(fn_args) -> None:
    """TFX Trainer entry point: trains, then writes the serving model to serving_model_dir
    (Format-Serving, which the Pusher pushes) and the evaluation model to eval_model_dir
    (Format-TFMA, which the Evaluator reads)."""
    config = custom_config_contract.decode(fn_args.custom_config)
    # The chief's logs are the ModelRun artifact; the other tasks of a cluster, which
    # share its URI, log to a folder of their own.
    log_dir = fn_args.model_run_dir if is_chief() else tempfile.mkdtemp(prefix="sicot_task_logs_")
    tf.io.gfile.makedirs(log_dir)
    train_and_export(
        config,
        fn_args.train_files,
        fn_args.eval_files,
        fn_args.transform_output,
        fn_args.serving_model_dir,
        log_dir=log_dir,
        word_vectors_uri=custom_config_contract.word_vectors_uri(fn_args.custom_config),
        eval_model_dir=fn_args.eval_model_dir,
    )
