"""The one place for sicot's configuration.

A configuration is a tree of dataclasses whose defaults below are the documented
defaults (``sicot config`` prints them as YAML). A user's YAML file is applied on top,
then command-line overrides of the form ``section.key=value``::

    sicot run --config my.yaml --set train.epochs=3 --set model.backbone=resnet50

Every value that the pipeline, the Trainer or the ingest step uses comes from here; the
Trainer receives the whole tree as JSON in its ``custom_config`` so that a change of any
value is also a change of the component's cache key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import typing
from pathlib import Path
from typing import Any, Iterable

import yaml


def is_url(path: str) -> bool:
    """gs://..., s3://...: a path on a file system of its own, never made absolute or
    normalised as a local one (os.path and Path turn gs://b into gs:/b)."""
    return "://" in path


class ConfigError(ValueError):
    """A configuration file or override that cannot be applied."""


# Settings only the semantic stream reads: a visual-only model (model.co_training false)
# is the same model whatever they are.
SEMANTIC_STREAM_SETTINGS = (
    ("model", "mixed_loss_weight"), ("model", "mixed_loss_warmup_epochs"), ("model", "mixed_stream_scaling"),
    ("model", "mixed_loss_trains_backbone"), ("model", "mixed_loss_class_balance"), ("model", "stream_alignment_weight"),
    ("model", "stream_alignment_target"), ("model", "title_word_dropout"),
    ("model", "title_word_prediction_weight"), ("model", "title_word_prediction_negatives"),
    ("model", "mixed_distillation_weight"),
    ("model", "mixed_distillation_temperature"),
    ("model", "title_encoder"), ("model", "attention_rank"), ("model", "attention_temperature"),
    ("model", "project_words"), ("model", "word_vectors"), ("model", "word_vectors_format"), ("word2vec",),
)

# Settings added after configurations were first recorded (results archives, the
# Trainer's custom_config in ML Metadata), each with the value that does what the
# versions before it did. A recorded configuration whose section lacks one was written
# before the setting existed: ``SicotConfig.from_recorded`` reads it back as this value,
# not as today's default, which may differ. mixed_distillation_weight came in stop 49
# (off) and became the default in stop 50 (1.0): a model archived before stop 49 trained
# without distillation, and reading it back as 1.0 would compare it as a model it is not.
SETTINGS_ADDED_LATER = {
    ("model", "mixed_distillation_weight"): 0.0,
}


@dataclasses.dataclass
class ExamplesConfig:
    # The user's own TFRecords of tf.Examples as the pipeline's input, instead of the
    # manifests: a file pattern (glob) per split, read by ImportExampleGen (GZIP when
    # the files end in .gz), then screened (components/example_screen.py: bad examples
    # are skipped and reported). train null: the manifests are the input. A split left
    # null is carved per class from train (data.eval_per_class, ...).
    train: str | None = None
    validation: str | None = None
    eval: str | None = None
    # Their names for our features: the image bytes (PNG, JPEG, GIF, BMP; other formats
    # Pillow reads are re-encoded), the title (UTF-8, may be missing), the label (the
    # class), the sku (default: the label), the tags (a list), the example id
    # (default: <file>:<record index>).
    image_feature: str = "image"
    title_feature: str = "title"
    label_feature: str = "label"
    sku_feature: str = "sku"
    tags_feature: str = "tags"
    example_id_feature: str = "example_id"


@dataclasses.dataclass
class DataConfig:
    # Manifest of the training images (JSON Lines or CSV); relative paths in it are
    # relative to the manifest's own folder. The default is the bundled SKU benchmark
    # (data/emoji_sku, README "Sample data"); configs/emoji_category.yaml selects the
    # category-level sample (data/emoji).
    manifest: str = "data/emoji_sku/train.jsonl"
    # Manifest of the test (eval) split; when null, a per-class hold-out of the
    # training manifest is used.
    eval_manifest: str | None = "data/emoji_sku/test.jsonl"
    # Per-class hold-out: at most this many eval images per class ...
    eval_per_class: int = 10
    # ... and never more than this share of a class's images.
    eval_max_fraction: float = 0.5
    # Manifest of the validation split (tuning: the test split is read once per final
    # configuration); when null, a per-class hold-out of what training keeps after the
    # eval hold-out, with its own cap and share.
    validation_manifest: str | None = "data/emoji_sku/validation.jsonl"
    validation_per_class: int = 5
    validation_max_fraction: float = 0.2
    # Fail the ingest (or, with data.examples, the screening) when more than this share
    # of the rows (examples) is rejected.
    max_reject_ratio: float = 0.1
    seed: int = 42
    # The user's own TFRecords as the input (see ExamplesConfig); off by default.
    examples: ExamplesConfig = dataclasses.field(default_factory=ExamplesConfig)


@dataclasses.dataclass
class PreprocessingConfig:
    # Images are decoded, alpha-composited on white, resized to image_size x image_size
    # and scaled to [-1, 1].
    image_size: int = 48
    # Titles are cut or padded to this many tokens.
    max_title_tokens: int = 16
    # Word vocabulary: at most this many words, each seen at least min_word_frequency
    # times in the training titles.
    vocab_top_k: int = 20000
    min_word_frequency: int = 1
    # Paper 4.1: the most frequent and the least frequent words of the vocabulary are
    # dropped from titles (these shares of the vocabulary; out-of-vocabulary words too).
    drop_most_frequent_words: float = 0.05
    drop_least_frequent_words: float = 0.05
    # ... but only when the vocabulary has at least this many words (0: always). The
    # paper's vocabularies had 20k-345k words, where the most frequent 5% are stop
    # words; in a small vocabulary they are the words titles share across classes.
    drop_min_vocabulary: int = 0
    # Keep one copy of a word written several times in a title.
    dedupe_title_words: bool = False
    # Store the decoded images in Transform's output (large); when false the Trainer
    # applies the transform graph on the fly to the raw examples.
    materialize: bool = False


@dataclasses.dataclass
class ModelConfig:
    # Visual backbone: tiny_cnn (tests), small_resnet (CPU demo), resnet50 (paper).
    backbone: str = "small_resnet"
    # Size D of the visual feature.
    feature_dim: int = 256
    # Local Keras weights file for the backbone (nothing is downloaded).
    backbone_weights: str | None = None
    dropout: float = 0.2
    # SICoT co-training: the semantic stream and the mixed-stream loss. false gives the
    # visual-only baseline with everything else identical.
    co_training: bool = True
    # lambda in loss = CE(visual) + lambda * CE(mixed).
    mixed_loss_weight: float = 1.0
    # lambda ramps up linearly from 0 over this many epochs (0: lambda from the start).
    mixed_loss_warmup_epochs: int = 0
    # The balance of the streams in the mixed stream max(x_v, s) (models/mixed_stream.py):
    # none (the paper) or visual_norm (s rescaled to x_v's L2 norm, per example).
    mixed_stream_scaling: str = "none"
    # false: the mixed loss reaches the shared classifier and the semantic stream but not
    # the backbone (which then learns from the visual loss alone). The paper: true. On
    # the SKU benchmark the mixed loss through max() pulls the backbone towards the
    # title's embedding and costs 4.5 top-1 points (docs/issue11_experiments.md, "SICoT
    # on the SKU benchmark").
    mixed_loss_trains_backbone: bool = False
    # beta of the class-balanced mixed term (models/class_balanced_weights.py): each
    # example's mixed CE is weighted by n_y^-beta (mean weight 1 over the training
    # images). 0: every image alike (the paper); 1: every class alike. On the SKU
    # benchmark beta 1 (chosen over 0.5 on validation) gave validation tail +2.5 over the
    # baseline, below the default's +3.2, so the default stays 0
    # (docs/issue11_experiments.md, "Class-balanced mixed term").
    mixed_loss_class_balance: float = 0.0
    # mu of the stream alignment term mu * (1 - cos(x_v, sg(s))) per titled image
    # (models/stream_alignment.py): the visual feature learns to point where its title's
    # embedding points. 0: the paper's loss. 3.0: chosen among 0, 1, 3, 10 on the SKU
    # benchmark's validation split with the logit-adjusted loss; without it, tail top-1
    # +3.2 and head +6.5 over the baseline on validation (3 seeds;
    # docs/issue11_experiments.md, "Stream alignment, the default"). The category sample keeps 0 (configs/emoji_category.yaml).
    stream_alignment_weight: float = 3.0
    # Which stream learns from it: semantic (the image learns the title's direction),
    # visual (the title learns the image's), or both.
    stream_alignment_target: str = "semantic"
    # In training, each title word is dropped with this probability before the semantic
    # stream (modality dropout); a title left with no word trains the visual head only.
    title_word_dropout: float = 0.0
    # Weight of title word prediction from the image (models/title_word_prediction.py):
    # a training-only multi-label head on x_v predicts the title's words. 0: off (the
    # paper). 1.0: the best co-training setting on the SKU benchmark's validation split.
    title_word_prediction_weight: float = 1.0
    # Its training loss over the whole title vocabulary (0), or (N > 0) an unbiased
    # sampled estimate from the batch's title words and N uniformly drawn others a step
    # (models/title_word_prediction.py): [B, |P| + N] logits instead of [B, V], for
    # catalogue-size vocabularies. For accuracy, one smoke screen only (seed 1, with
    # train.row_sparse_updates; docs/issue11_experiments.md); the SKU benchmark's
    # results tables are all with 0.
    title_word_prediction_negatives: int = 0
    # kappa of the mixed-stream distillation (models/mixed_stream_distillation.py): the
    # visual head learns, per titled image, the mixed head's softened prediction,
    # kappa * T^2 * KL(softmax(sg(W x_m) / T) || softmax(W x_v / T)). 0: off (the paper).
    # Every classifier (sharded: each softmax normalised over all shards). Screened on the
    # SKU benchmark in stop 49 (seed 1, 36 epochs: T 2 a candidate, T 4 not); 1.0 with
    # T 2 at 64 epochs, 3 seeds, validation: tail top-1 23.0 against 21.1, overall 27.3
    # against 25.8 (docs/issue11_experiments.md, "Mixed-stream distillation"), the
    # default since stop 50. The category sample keeps 0 (configs/emoji_category.yaml).
    mixed_distillation_weight: float = 1.0
    # Its temperature T (> 0).
    mixed_distillation_temperature: float = 2.0
    # Title encoder: mean, bilstm, bilstm_attention or bilinear_attention (paper's Table 3).
    # mean: the SKU benchmark's Table 3 at 64 epochs chose it on validation (stop 45, by a
    # rule written before the run: docs/issue11_experiments.md); bilinear_attention, the
    # paper's, was the default before and stays the category sample's.
    title_encoder: str = "mean"
    # Rank K of the bilinear word attention (and units of the BiLSTM self-attention).
    attention_rank: int = 64
    # Initial temperature tau of the bilinear word attention (learned; the weight ratio of
    # two words is at most exp(2 tau)).
    attention_temperature: float = 1.0
    # A learned projection of word embeddings to D (always on with pretrained vectors of
    # another size); off: the embeddings are D-dimensional and only pass a ReLU.
    project_words: bool = True
    # Pretrained word vectors to start the word embeddings from (a local file), with its
    # format: auto, word2vec_text, word2vec_binary, glove_text or npy_index. null: the
    # vectors of the pipeline's word2vec step (see word2vec), else a random start.
    word_vectors: str | None = None
    word_vectors_format: str = "auto"
    # The shared classifier: dense (a linear layer) or cosine (models/cosine_classifier.py:
    # L2-normalised features and class weights, cosine_scale s, and in training a margin
    # on the true class: cosface cos - m, or arcface cos(theta + m)).
    classifier: str = "dense"
    cosine_scale: float = 16.0
    cosine_margin: float = 0.1
    cosine_margin_type: str = "cosface"
    # The shared classifier split by class into this many shards (models/
    # sharded_classifier.py); 1 = one Dense layer. Each shard goes on its own device when
    # classifier_devices lists one per shard (e.g. ["/GPU:0", "/GPU:1"]).
    classifier_shards: int = 1
    classifier_devices: list[str] = dataclasses.field(default_factory=list)
    # Partial FC: per training step, logits over the batch's positive classes plus this
    # share of the other classes (models/partial_fc.py); 1.0 = the full softmax.
    partial_fc_ratio: float = 1.0
    # With partial FC, add log(1 / chance of being drawn) to each sampled negative's
    # logit (logQ correction: an unbiased estimate of the full softmax's normaliser).
    # null (the default): on for the dense classifier, off for cosine, where the plain
    # sampling of InsightFace measures better (bench/partial_fc_accuracy.py).
    partial_fc_correction: bool | None = None


@dataclasses.dataclass
class LongTailConfig:
    # Long-tail remedies, each combinable with co-training (models/logit_adjusted_loss.py,
    # models/classifier_rebalancing.py); priors are the training counts Transform found.
    # Training loss of both heads: softmax (plain cross-entropy), logit_adjusted
    # (Menon et al. 2021: CE of logits + loss_tau * log prior) or balanced_softmax
    # (Ren et al. 2020: the logit-adjusted loss at tau 1).
    loss: str = "softmax"
    loss_tau: float = 1.0
    # Re-balancing of the trained classifier before export: none, posthoc (logit
    # adjustment: bias - adjustment_tau * log prior), tau_norm (Kang et al. 2020:
    # each class's weights divided by their norm ** adjustment_tau, bias 0), ncm
    # (Kang et al. 2020: the weights become the training features' class means,
    # normalised, bias 0; no tau; models/nearest_class_mean.py) or crt (Kang et al.
    # 2020: the classifier trained again from a fresh start on the training features,
    # classes sampled equally often; no tau; models/classifier_retraining.py).
    adjustment: str = "none"
    # tau of the adjustment; a negative value (the default) picks it from
    # adjustment_taus by top-1 accuracy on the validation split (never the test split).
    adjustment_tau: float = -1.0
    adjustment_taus: list[float] = dataclasses.field(default_factory=lambda: [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0])
    # crt: Kang et al.'s ImageNet-LT recipe (classifier-balancing cls_crt.yaml): epochs
    # of (largest class count x classes) class-balanced samples, batch, SGD learning
    # rate (cosine to 0, momentum 0.9), weight decay, consecutive samples per class.
    crt_epochs: int = 10
    crt_batch_size: int = 512
    crt_learning_rate: float = 0.2
    crt_weight_decay: float = 5e-4
    crt_samples_per_class: int = 4


@dataclasses.dataclass
class Word2VecConfig:
    # When co-training without model.word_vectors, the pipeline's TitleWord2Vec step
    # trains skip-gram word2vec (negative sampling) on the training titles and the
    # Trainer starts the word embeddings from those vectors.
    enabled: bool = True
    # Vector size; 0 means the feature size D.
    dim: int = 0
    window: int = 2
    negatives: int = 5
    epochs: int = 5


@dataclasses.dataclass
class TrainConfig:
    batch_size: int = 64
    # 64 epochs with decay every 4, on the SKU benchmark's validation split: 36 epochs
    # under-trained the visual-only baseline (top-1 17.8 vs 22.5 at 48), and so did 48
    # (3 seeds: 21.4 vs 22.6 at 64); docs/issue11_experiments.md, "Training length,
    # both variants alike".
    epochs: int = 64
    # Train steps per epoch; 0 means one pass over the training split.
    steps_per_epoch: int = 0
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    # sgd only: a table whose step gradient is a set of rows (the title word embedding;
    # the sampled title word head; with partial FC, the classifier's biases) has those
    # rows' momentum and values updated, the rest left as they are
    # (training/row_sparse_sgd.py; TF1 MomentumOptimizer's sparse update). For
    # catalogue-size title vocabularies; false: Keras' SGD, which every model of the
    # results tables used.
    row_sparse_updates: bool = False
    # L2 penalty weight_decay * sum(w^2) (Keras' L2 regularizer) on the weights that
    # weight_decay_scope names: classifier (the shared classifier's kernel) or kernels
    # (every weight matrix and convolution kernel; not biases, BatchNorm or word
    # embeddings; models/weight_decay.py).
    weight_decay: float = 1e-4
    weight_decay_scope: str = "classifier"
    # Step decay: the learning rate is multiplied by lr_decay_gamma every
    # lr_decay_epochs epochs (the paper: gamma 0.8).
    lr_decay_gamma: float = 0.8
    lr_decay_epochs: int = 4
    # Fine-tuning policy: the backbone's trunk (the part a pretrained weights file fills)
    # is frozen for this many epochs (BatchNorm in inference mode), then all layers train.
    freeze_backbone_epochs: int = 0
    # Random flips and crops of the training images.
    augment: bool = True
    seed: int = 42
    # Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch,
    # -1 a progress bar on a terminal and one line per epoch otherwise.
    verbose: int = -1
    # Fault tolerance: the training state (weights, optimizer, global step) is backed up
    # every this many steps (0: no backups) under checkpoint_dir (null:
    # <pipeline.output_dir>/train_backup/<configuration fingerprint>); a restarted
    # Trainer with the same configuration resumes at the last backed-up step.
    checkpoint_every_steps: int = 0
    checkpoint_dir: str | None = None


@dataclasses.dataclass
class DistributeConfig:
    # tf.distribute strategy of the Trainer: none, mirrored (one host, its GPUs),
    # multi_worker_mirrored or parameter_server (both read the cluster from TF_CONFIG).
    strategy: str = "none"
    # mirrored: the devices to mirror over (empty: all GPUs, else the CPU).
    devices: list[str] = dataclasses.field(default_factory=list)
    # parameter_server: the classifier is split over the parameter servers by class
    # with model.classifier_shards (one shard per parameter server); see
    # training/distribution.py.


@dataclasses.dataclass
class EvalConfig:
    # Which split the Evaluator (TFMA) scores: test (the eval split) or validation.
    # `sicot compare` uses compare.split instead.
    split: str = "test"
    # Head / tail: a class is head when it has at least this many training images
    # (the paper: 200, 5000, 100 and 200 on its four data sets; the SKU benchmark's
    # classes are small, hence 20), else tail.
    head_min_train_images: int = 20
    # Frequency buckets of the per-class training count: [2, 5, 19] gives the slices
    # 1-2, 3-5, 6-19 and >19.
    frequency_buckets: list[int] = dataclasses.field(default_factory=lambda: [2, 5, 19])
    # Blessing (Pusher pushes only blessed models). The candidate's overall top-1 must
    # be at least min_top1_accuracy, and no more than max_top1_drop below the last
    # blessed model's (the baseline; the first model has none), and its tail-class
    # top-1 at least min_tail_top1_accuracy (0 = no floor).
    min_top1_accuracy: float = 0.0
    max_top1_drop: float = 0.01
    min_tail_top1_accuracy: float = 0.0
    # Also require the lower bound of the candidate's 95% interval (TFMA's, see
    # confidence_intervals) on tail top-1 to be at least the baseline's tail top-1
    # (off: TFMA's thresholds compare point estimates). The blessing artifact and
    # `sicot run` say which rule decided.
    blessing_interval_rule: bool = False
    # How many eval titles the report's attention view shows.
    attention_examples: int = 12
    # TFMA's confidence intervals on every slice metric: jackknife (TFMA's default: 20
    # buckets in TFMA 0.47), poisson_bootstrap (TFMA 0.47: 20 samples; the counts are
    # TFMA's fixed values) or none.
    confidence_intervals: str = "jackknife"


@dataclasses.dataclass
class AcceptanceConfig:
    # A comparison's acceptance rule (evaluation/acceptance_rule.py), written before its
    # runs: the gains of `variant` over `reference` in `metric`, paired by seed, must be
    # at least min_mean_gain[slice] in the mean (fractions: 0.02 = 2 points) and, for
    # each slice of interval_above_zero, have a 95% t interval whose lower end is above
    # 0. Judged only when every seed of `seeds` (empty: compare.seeds) has both models,
    # and over those seeds only; until then "pending", with no numbers. "" = no rule.
    variant: str = ""
    reference: str = "baseline"
    metric: str = "top1_accuracy"
    min_mean_gain: dict[str, float] = dataclasses.field(default_factory=dict)
    interval_above_zero: list[str] = dataclasses.field(default_factory=list)
    seeds: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CompareConfig:
    # `sicot compare`: which models to train and evaluate on the same data and settings.
    # The names the results use: baseline = visual only (model.co_training false);
    # sicot-mean, sicot-bilstm, sicot-bilstm_attention, sicot-bilinear_attention = SICoT
    # with that title encoder (the paper's Table 3); sicot = SICoT with
    # model.title_encoder. Each may add +<long-tail method>s (evaluation/compare.py).
    variants: list[str] = dataclasses.field(default_factory=lambda: ["baseline", "sicot"])
    # One training of each variant per seed (train.seed); the tables give mean and spread.
    seeds: list[int] = dataclasses.field(default_factory=lambda: [42])
    # The split the comparison is scored on: validation (tuning, the default) or test
    # (once per final configuration).
    split: str = "validation"
    # The rule the comparison is judged by (`sicot compare`, `sicot report --config`).
    acceptance: AcceptanceConfig = dataclasses.field(default_factory=AcceptanceConfig)
    # Results archives (`sicot archive`; paths from the working folder) whose models
    # count as trained: a planned (variant, seed) an archive holds, with the same shared
    # settings and split, is not trained again, and the reports put it beside the run
    # folder's models (evaluation/results_archive.py).
    archives: list[str] = dataclasses.field(default_factory=list)
    # Re-scorings of the trained models that belong to the plan (evaluation/rescoring.py:
    # posthoc, tau_norm, ncm, crt, title_ncm, ncm_title, crt_mixed): `sicot compare` and
    # `sicot report --config` score every model trained without a re-balancing with each
    # (the variants <variant>+<method>; `--rescore` adds more), `sicot compare --archive`
    # archives them beside their models, and compare.acceptance may name them.
    rescore: list[str] = dataclasses.field(default_factory=list)
    # Splits each trained model is also scored on, sealed: right after it trains and
    # before it is scored on compare.split, with its re-scorings, into the results
    # archive of `sicot compare --archive`; never shown by this comparison's tables. A
    # later plan on that split (compare.split: test, the same archives) finds them there
    # and trains nothing: a model is trained once for its validation numbers and for its
    # test numbers, which stay unread until a plan reads them (evaluation/compare.py).
    sealed_splits: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ServingConfig:
    # How many (label, score) pairs serving_default returns per image.
    top_k: int = 5


@dataclasses.dataclass
class IndexConfig:
    # The product index (SKU -> title, tags, images) that the service reads.
    # null: the SQLite file product_index.sqlite in pipeline.output_dir; a path or
    # sqlite:///path: that SQLite file; postgresql://user@host:port/db: PostgreSQL.
    url: str | None = None
    # Table (PostgreSQL) the index lives in; a rebuild fills <table>_new, then swaps.
    table: str = "sicot_products"
    # The catalogue to index (a manifest: image, label, title, sku, tags; JSON Lines
    # or CSV). null: data.manifest.
    catalogue: str | None = None


@dataclasses.dataclass
class ServiceConfig:
    # `sicot serve`: the HTTP recognition service.
    host: str = "127.0.0.1"
    port: int = 8080
    # Model backend: saved_model (in-process, the default) or tf_serving (gRPC).
    backend: str = "saved_model"
    # saved_model: the SavedModel folder; null: the newest version under
    # <pipeline.output_dir>/serving/<pipeline.name>/.
    model_dir: str | None = None
    # tf_serving: the PredictionService address, the model name (null: pipeline.name)
    # and version (null: the newest TF Serving has loaded).
    tf_serving_address: str = "localhost:8500"
    tf_serving_model_name: str | None = None
    tf_serving_model_version: int | None = None
    # ... or a version label of models.config (stable, canary); a version wins over it.
    tf_serving_version_label: str | None = None
    signature_name: str = "serving_default"
    # Deadline of one model call (gRPC) in seconds.
    timeout_s: float = 5.0
    # Uploads over these limits are refused with 413.
    max_image_bytes: int = 10_000_000
    max_image_pixels: int = 40_000_000
    # Server-side batching: concurrent requests are run as one model call of up to
    # max_batch_size images, waiting at most batch_timeout_ms for more to arrive.
    # 1: off (the default: on 2 CPU cores it did not raise throughput, see README).
    max_batch_size: int = 1
    batch_timeout_ms: float = 2.0


@dataclasses.dataclass
class PipelineConfig:
    name: str = "sicot"
    # Everything a run writes goes under this folder: ingested TFRecords, the pipeline
    # root, ML Metadata, the serving models.
    output_dir: str = "runs/emoji_sku"
    enable_cache: bool = False
    # Extra Beam pipeline options for the Beam-based components.
    beam_pipeline_args: list[str] = dataclasses.field(
        default_factory=lambda: ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    )
    # Orchestrator of `sicot run`: local (LocalDagRunner), beam (BeamDagRunner, the
    # pipeline's Beam options above), kubeflow (compile a Kubeflow Pipelines v2 / Vertex
    # pipeline JSON; nothing runs).
    runner: str = "local"
    # Container image of every component in the compiled Kubeflow pipeline
    # (deploy/pipeline/Dockerfile builds it).
    kubeflow_image: str = "sicot-pipeline:latest"
    # Where the pipeline's Trainer trains: none (in its own step, where the orchestrator
    # runs it), vertex (the step starts a Vertex AI CustomJob and waits for it: a
    # chief, vertex_workers workers and vertex_parameter_servers parameter servers, each
    # running the Trainer in kubeflow_image; Vertex gives every replica the TF_CONFIG
    # that distribute.strategy multi_worker_mirrored or parameter_server reads; the
    # pipeline root and the data must be paths the replicas read, gs://...;
    # tfx_pipeline/vertex_training.py) or tfjob (the step creates a Kubeflow TFJob, the
    # training operator's kubeflow.org/v1 resource, on the cluster it runs in and waits
    # for it: a chief, tfjob_workers workers and tfjob_parameter_servers parameter
    # servers in kubeflow_image; tfx_pipeline/tfjob_training.py).
    trainer_cluster: str = "none"
    vertex_project: str = ""
    vertex_region: str = "us-central1"
    # Every replica's machine; the accelerators go to the chief and the workers, not
    # to the parameter servers.
    vertex_machine_type: str = "n1-standard-8"
    vertex_accelerator_type: str = ""
    vertex_accelerator_count: int = 0
    vertex_workers: int = 0
    vertex_parameter_servers: int = 0
    # The TFJob's namespace ("": the namespace of the pod the Trainer step runs in).
    tfjob_namespace: str = ""
    tfjob_workers: int = 0
    tfjob_parameter_servers: int = 0
    # Every replica's resources (Kubernetes quantities); the GPUs (nvidia.com/gpu) go to
    # the chief and the workers, not to the parameter servers.
    tfjob_cpu: str = "4"
    tfjob_memory: str = "16Gi"
    tfjob_gpus: int = 0
    # The replicas' Kubernetes service account ("": the namespace's default), e.g. one
    # that may read and write the pipeline root's bucket.
    tfjob_service_account: str = ""
    # The pipeline root must be a path every replica reads and writes: a bucket
    # (gs://, s3://, ...) or this PersistentVolumeClaim, mounted in every replica at
    # tfjob_volume_mount_path, under which the pipeline root lies.
    tfjob_volume_claim: str = ""
    tfjob_volume_mount_path: str = ""
    # How often the training operator restarts a failed replica before the job fails
    # (runPolicy.backoffLimit; with train.checkpoint_every_steps a restarted replica goes on
    # from its last backup), and how often the step reads the job's state.
    tfjob_backoff_limit: int = 3
    tfjob_poll_seconds: float = 30.0


@dataclasses.dataclass
class SicotConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = dataclasses.field(default_factory=PreprocessingConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    long_tail: LongTailConfig = dataclasses.field(default_factory=LongTailConfig)
    word2vec: Word2VecConfig = dataclasses.field(default_factory=Word2VecConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    distribute: DistributeConfig = dataclasses.field(default_factory=DistributeConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    compare: CompareConfig = dataclasses.field(default_factory=CompareConfig)
    serving: ServingConfig = dataclasses.field(default_factory=ServingConfig)
    index: IndexConfig = dataclasses.field(default_factory=IndexConfig)
    service: ServiceConfig = dataclasses.field(default_factory=ServiceConfig)
    pipeline: PipelineConfig = dataclasses.field(default_factory=PipelineConfig)

    # -- derived paths ------------------------------------------------------------
    @property
    def output_path(self) -> Path:
        """pipeline.output_dir on the local disk (see output_location for a bucket)."""
        return Path(self.pipeline.output_dir).absolute()

    @property
    def output_is_url(self) -> bool:
        """pipeline.output_dir is a bucket's URL (gs://...), as a cluster's pipeline root is."""
        return is_url(self.pipeline.output_dir)

    def output_location(self, *parts: str) -> str:
        """A location under pipeline.output_dir: a local absolute path, or for a bucket the
        URL joined with '/' (a Path would turn gs://b into the local folder gs:/b)."""
        if self.output_is_url:
            return "/".join([self.pipeline.output_dir.rstrip("/"), *parts])
        return str(self.output_path.joinpath(*parts))

    @property
    def ingest_dir(self) -> Path:
        return self.output_path / "ingest"

    @property
    def pipeline_root(self) -> Path:
        return self.output_path / "pipeline"

    @property
    def metadata_path(self) -> Path:
        return self.output_path / "metadata.sqlite"

    @property
    def train_backup_dir(self) -> str:
        if self.train.checkpoint_dir:
            return self.train.checkpoint_dir
        return self.output_location("train_backup", self.fingerprint())

    @property
    def serving_dir(self) -> Path:
        return self.output_path / "serving" / self.pipeline.name

    @property
    def index_url(self) -> str:
        return self.index.url or str(self.output_path / "product_index.sqlite")

    # -- (de)serialisation ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def without_unread(self) -> "SicotConfig":
        """A copy in which settings this model does not read are at their defaults (for a
        visual-only model: SEMANTIC_STREAM_SETTINGS), so that they are no part of what
        identifies it (cache keys, comparisons)."""
        out = SicotConfig.from_dict(self.to_dict())
        if not self.model.co_training:
            defaults = SicotConfig()
            for path in SEMANTIC_STREAM_SETTINGS:
                target, source = out, defaults
                for key in path[:-1]:
                    target, source = getattr(target, key), getattr(source, key)
                setattr(target, path[-1], copy.deepcopy(getattr(source, path[-1])))
        return out

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, tree: dict[str, Any]) -> "SicotConfig":
        config = cls()
        _merge(config, tree, prefix="")
        return config

    @classmethod
    def from_json(cls, text: str) -> "SicotConfig":
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_recorded(cls, tree: dict[str, Any]) -> "SicotConfig":
        """A configuration as an earlier version of sicot recorded it (``to_dict``): as
        ``from_dict``, but a setting of SETTINGS_ADDED_LATER that its section lacks takes
        the value of the versions before it, not today's default. A section left out
        whole (a component's custom_config keeps only the sections it reads) still takes
        the defaults."""
        config = cls.from_dict(tree)
        for path, value in SETTINGS_ADDED_LATER.items():
            section, target = tree, config
            for key in path[:-1]:
                section = section.get(key) if isinstance(section, dict) else None
                target = getattr(target, key)
            if isinstance(section, dict) and path[-1] not in section:
                setattr(target, path[-1], copy.deepcopy(value))
        return config


def _field_types(obj: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(type(obj))
    return {f.name: hints[f.name] for f in dataclasses.fields(obj)}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Converts a YAML/override value to the declared type of the field."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, where)
    if origin is list:
        if isinstance(value, str):
            value = yaml.safe_load(value) if value.strip().startswith("[") else [
                v for v in value.split(",") if v
            ]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {_coerce(k, args[0], f"{where}.{k}"): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = hint(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from None
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return number
    if hint is str:
        if value is None:
            raise ConfigError(f"{where}: expected a string, got null")
        return str(value)
    return value


def _merge(obj: Any, tree: dict[str, Any], prefix: str) -> None:
    if not isinstance(tree, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {tree!r}")
    types = _field_types(obj)
    for key, value in tree.items():
        where = f"{prefix}{key}"
        if key not in types:
            known = ", ".join(sorted(types))
            raise ConfigError(f"unknown setting '{where}' (known here: {known})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            _merge(current, value, prefix=f"{where}.")
        elif isinstance(current, dict):  # a mapping setting: the given keys are set, the others kept
            setattr(obj, key, {**current, **_coerce(value, types[key], where)})
        else:
            setattr(obj, key, _coerce(value, types[key], where))


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not of the form section.key=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw != "" else ""
    return key.strip().split("."), value


def load_config(
    path: str | os.PathLike | None = None, overrides: Iterable[str] = ()
) -> SicotConfig:
    """The defaults, then the YAML file at ``path`` (if any), then ``overrides``."""
    config = SicotConfig()
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                tree = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {path}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"configuration file {path} is not valid YAML: {e}") from None
        _merge(config, tree, prefix="")
    for text in overrides:
        keys, value = parse_override(text)
        tree: Any = value
        for key in reversed(keys):
            tree = {key: tree}
        _merge(config, tree, prefix="")
    return config
