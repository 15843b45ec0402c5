"""The Trainer component's run_fn (TFX generic Trainer, Keras 3)."""

from __future__ import annotations

import json
import math
import os
import sys

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models import features
from models.distribution import (
    fit_on_parameter_servers,
    is_chief,
    is_parameter_server,
    serve_cluster_task,
    strategy_from_config,
)
from models.classifier_rebalancing import apply_rebalancing, full_weights, select_tau
from models.export import export_recognition_models
from models.fault_tolerant_training import StepBackup, backed_up_step, remove_backups, restore_state
from models.preprocessing import config_from_custom_config, read_label_frequencies
from models.sicot_model import build_sicot_model
from models.word_vectors import WORD_VECTORS_URI, aligned_embedding_matrix, load_word_vectors
from sicot.config import SicotConfig
from sicot.console import detail

_AUTOTUNE = tf.data.AUTOTUNE


def _files(patterns: list[str]) -> list[str]:
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise FileNotFoundError(f"no example files match {patterns}")
    return files


def transformed_examples(
    patterns: list[str], tft_output: tft.TFTransformOutput, materialized: bool, parse_batch: int = 64
) -> tf.data.Dataset:
    """Unbatched dicts of transformed features (from raw or materialized examples)."""
    records = tf.data.TFRecordDataset(_files(patterns), compression_type="GZIP")
    if materialized:
        spec = tft_output.transformed_feature_spec()
        return records.batch(parse_batch).map(
            lambda x: tf.io.parse_example(x, spec), num_parallel_calls=_AUTOTUNE
        ).unbatch()
    layer = tft_output.transform_features_layer()
    spec = tft_output.raw_feature_spec()
    return records.batch(parse_batch).map(
        lambda x: layer(tf.io.parse_example(x, spec)), num_parallel_calls=_AUTOTUNE
    ).unbatch()


def _augment(pixels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip and a random shift of up to 1/8 of the image."""
    size = pixels.shape[0]
    pad = max(1, size // 8)
    pixels = tf.image.stateless_random_flip_left_right(pixels, seed)
    padded = tf.pad(pixels, [[pad, pad], [pad, pad], [0, 0]], constant_values=1.0)
    return tf.image.stateless_random_crop(padded, tf.shape(pixels), seed + 1)


def make_dataset(
    patterns: list[str],
    tft_output: tft.TFTransformOutput,
    config: SicotConfig,
    training: bool,
) -> tf.data.Dataset:
    """({image_pixels, title_token_ids}, label_id) batches; training ones are cached,
    shuffled and augmented (the images)."""
    ds = transformed_examples(patterns, tft_output, config.preprocessing.materialize)
    ds = ds.filter(lambda f: tf.reshape(f[features.LABEL_ID], []) >= 0)
    ds = ds.map(
        lambda f: (
            {
                features.IMAGE_PIXELS: f[features.IMAGE_PIXELS],
                features.TITLE_TOKEN_IDS: tf.cast(f[features.TITLE_TOKEN_IDS], tf.int64),
            },
            tf.reshape(f[features.LABEL_ID], []),
        ),
        num_parallel_calls=_AUTOTUNE,
    ).cache()
    batch = config.train.batch_size
    if not training:
        return ds.batch(batch).prefetch(_AUTOTUNE)
    ds = ds.shuffle(4096, seed=config.train.seed, reshuffle_each_iteration=True).repeat()
    if config.train.augment:
        counter = tf.data.Dataset.counter().map(lambda i: tf.stack([i, tf.constant(config.train.seed, tf.int64)]))
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda xy, s: (
                {**xy[0], features.IMAGE_PIXELS: _augment(xy[0][features.IMAGE_PIXELS], tf.cast(s, tf.int32))},
                xy[1],
            ),
            num_parallel_calls=_AUTOTUNE,
        )
    return ds.batch(batch, drop_remainder=False).prefetch(_AUTOTUNE)


def learning_rate_schedule(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0):
    """Step decay; a schedule that starts at start_epoch carries the decays before it."""
    t = config.train
    decays_done = start_epoch // max(1, t.lr_decay_epochs)
    return keras.optimizers.schedules.ExponentialDecay(
        t.learning_rate * t.lr_decay_gamma**decays_done,
        decay_steps=max(1, steps_per_epoch * t.lr_decay_epochs),
        decay_rate=t.lr_decay_gamma,
        staircase=True,
    )


def make_optimizer(config: SicotConfig, steps_per_epoch: int, start_epoch: int = 0) -> keras.optimizers.Optimizer:
    t = config.train
    schedule = learning_rate_schedule(config, steps_per_epoch, start_epoch)
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=t.momentum)
    if t.optimizer == "adam":
        return keras.optimizers.Adam(schedule)
    raise ValueError(f"unknown train.optimizer '{t.optimizer}' (known: sgd, adam)")


def steps_per_epoch(config: SicotConfig, num_train_examples: int) -> int:
    if config.train.steps_per_epoch > 0:
        return config.train.steps_per_epoch
    return max(1, math.ceil(num_train_examples / config.train.batch_size))


def _verbosity(config: SicotConfig) -> int:
    if config.train.verbose >= 0:
        return config.train.verbose
    return 1 if sys.stdout.isatty() else 2


def backbone_trunk(model) -> keras.Model:
    """The part of the visual backbone that pretrained weights fill (all but the projection)."""
    return model.visual.get_layer(f"{model.visual.name.removesuffix('_backbone')}_trunk")


def _compile(model, config: SicotConfig, steps: int, start_epoch: int) -> None:
    model.compile(optimizer=make_optimizer(config, steps, start_epoch), metrics=model.accuracy_metrics())


def fit_with_warmup(model, config: SicotConfig, train_ds, eval_ds, steps: int, callbacks=(), backup_dir=None):
    """Trains for train.epochs; the first train.freeze_backbone_epochs with the trunk frozen.

    train_ds: a dataset, or a function that builds it (ParameterServerStrategy needs the
    function: each worker builds its own input pipeline from it).
    With backup_dir and train.checkpoint_every_steps > 0 the training state is backed up
    every N steps, and a call that finds a backup resumes at its step (see
    models/fault_tolerant_training.py); the backups are removed at the end. Under
    ParameterServerStrategy the chief schedules the steps on the workers.
    """
    epochs = config.train.epochs
    warm = max(0, min(config.train.freeze_backbone_epochs, epochs))
    trunk = backbone_trunk(model) if warm else None
    resume_step = backed_up_step(backup_dir)
    history = keras.callbacks.History()
    history.history = {}
    for first_epoch, end_epoch, frozen in ((0, warm, True), (warm, epochs, False)):
        if first_epoch >= end_epoch or resume_step >= end_epoch * steps:
            continue
        if trunk is not None:
            trunk.trainable = not frozen
        with model.distribute_strategy.scope():
            _compile(model, config, steps, first_epoch)
        if resume_step and resume_step >= first_epoch * steps:
            # A backup taken at this phase's first step holds the previous phase's
            # optimizer: this phase starts with a fresh one, as it would have.
            restore_state(model, backup_dir, with_optimizer=resume_step > first_epoch * steps)
            detail(f"resuming training at step {resume_step} from {backup_dir}")
        for call in _fit_calls(first_epoch, end_epoch, steps, max(resume_step, first_epoch * steps)):
            logs = _fit(model, config, train_ds, eval_ds, call, first_epoch * steps, callbacks, backup_dir)
            for key, values in logs.items():
                history.history.setdefault(key, []).extend(values)
    if trunk is not None:
        trunk.trainable = True
    remove_backups(backup_dir)
    return history


def _fit_calls(first_epoch: int, end_epoch: int, steps: int, start_step: int) -> list[tuple[int, int, int, int]]:
    """(first global step, initial epoch, end epoch, steps per epoch) of the fit calls
    that train a phase from start_step on: the rest of an interrupted epoch, then whole
    epochs."""
    epoch, done = divmod(start_step, steps)
    calls = []
    if done:
        calls.append((start_step, epoch, epoch + 1, steps - done))
        epoch += 1
    if epoch < end_epoch:
        calls.append((epoch * steps, epoch, end_epoch, steps))
    return calls


def _fit(model, config: SicotConfig, train_ds, eval_ds, call, phase_first_step: int, callbacks, backup_dir) -> dict:
    first_step, initial_epoch, end_epoch, steps = call

    def data():
        # Each fit call reads the phase's batch stream from its start: skip what was trained.
        ds = train_ds() if callable(train_ds) else train_ds
        return ds.skip(first_step - phase_first_step) if first_step > phase_first_step else ds

    if is_parameter_server(model.distribute_strategy):
        return fit_on_parameter_servers(model, data, end_epoch, steps, initial_epoch)
    every = config.train.checkpoint_every_steps
    backup = [StepBackup(backup_dir, every, first_step)] if backup_dir and every > 0 else []
    return model.fit(
        data(),
        epochs=end_epoch,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        validation_data=eval_ds,
        verbose=_verbosity(config),
        callbacks=[*callbacks, *backup],
    ).history


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
        with open(os.path.join(log_dir, "word_vectors.txt"), "w") as f:
            f.write(message + "\n")
    return alignment.matrix


def class_counts_by_id(tft_output: tft.TFTransformOutput) -> np.ndarray:
    """[C] training images per class id (the label vocabulary's order)."""
    counts = read_label_frequencies(tft_output)
    labels = [v.decode("utf-8") for v in tft_output.vocabulary_by_name(features.LABEL_VOCABULARY)]
    return np.array([counts.get(label, 0) for label in labels], dtype=np.int64)


def rebalance_classifier(model, config: SicotConfig, validation_ds, class_counts: np.ndarray,
                         log_dir: str | None) -> dict:
    """long_tail.adjustment on the trained classifier (models/classifier_rebalancing.py),
    with tau chosen on the validation split when long_tail.adjustment_tau < 0."""
    lt = config.long_tail
    counts = np.maximum(class_counts.astype(np.float64), 1.0)
    log_prior = np.log(counts / counts.sum())
    tau, accuracy = lt.adjustment_tau, {}
    if tau < 0:
        feats, labels = [], []
        for x, y in validation_ds:
            feats.append(model.visual_features(x[features.IMAGE_PIXELS], training=False).numpy())
            labels.append(y.numpy())
        if not feats:
            raise ValueError("long_tail.adjustment_tau < 0 picks tau on the validation split, which is empty")
        kernel, bias = full_weights(model.classifier)
        tau, accuracy = select_tau(np.concatenate(feats), np.concatenate(labels), kernel, bias, lt.adjustment,
                                   lt.adjustment_taus, log_prior)
        tried = ", ".join(f"{t:g}: {100 * a:.1f}%" for t, a in accuracy.items())
        detail(f"{lt.adjustment} re-balancing: validation top-1 by tau {tried}; tau = {tau:g}")
    else:
        detail(f"{lt.adjustment} re-balancing with tau = {tau:g}")
    apply_rebalancing(model.classifier, lt.adjustment, tau, log_prior)
    record = {"adjustment": lt.adjustment, "tau": tau, "validation_top1_by_tau": {str(k): v for k, v in accuracy.items()}}
    if log_dir:
        with open(os.path.join(log_dir, "classifier_rebalancing.json"), "w") as f:
            json.dump(record, f, indent=2)
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
        backup_dir=config.train_backup_dir if config.train.checkpoint_every_steps > 0 else None,
    )
    if not is_chief():
        return history
    if config.long_tail.adjustment != "none":
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
    config = config_from_custom_config(fn_args.custom_config)
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    train_and_export(
        config,
        fn_args.train_files,
        fn_args.eval_files,
        fn_args.transform_output,
        fn_args.serving_model_dir,
        log_dir=fn_args.model_run_dir,
        word_vectors_uri=(fn_args.custom_config or {}).get(WORD_VECTORS_URI),
        eval_model_dir=fn_args.eval_model_dir,
    )
