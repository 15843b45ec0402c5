"""The SICoT co-training model (paper Sec. 3.2-3.3).

    visual stream    x_v = backbone(image)                          [B, D]
    semantic stream  s   = title_encoder(Embedding(title ids))       [B, D]
    mixed stream     x_m = max(x_v, s)  (elementwise)                [B, D]
    shared classifier W (one Dense layer) on both streams
    loss = CE(W x_v) + lambda * CE(W x_m)

plus, beyond the paper and each switched by its weight: the stream alignment
(models/stream_alignment.py), title word prediction (models/title_word_prediction.py)
and mixed-stream distillation (models/mixed_stream_distillation.py).

W can instead be a ShardedClassifier (models/sharded_classifier.py: split by class over
devices, the CE combined by a distributed log-sum-exp) and trained with partial FC
(models/partial_fc.py); both heads always go through the same W (the same shards, the
same sampled columns).

The mixed term is masked for examples whose title has no known word: they train the
visual stream only (their semantic embedding would be garbage). With the semantic
stream off (``model.co_training: false``) the same class trains the plain visual
classifier with everything else identical: the baseline.

``model(pixels)`` (``call``) is the deployed path: the image alone -> visual logits.
Titles are only read by ``train_step``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models import features
from models.class_balanced_weights import class_balanced_weights
from models.cosine_classifier import CosineClassifier
from models.logit_adjusted_loss import loss_logit_offsets
from models.mixed_stream import MixedStream
from models.mixed_stream_distillation import distillation_loss
from models.stream_alignment import alignment_loss
from models.row_gather_embedding import RowGatherEmbedding
from models.title_word_prediction import TitleWordPredictor, sampled_word_prediction_loss, word_prediction_loss
from models.partial_fc import sample_classes, uses_logq_correction
from models.sharded_classifier import ShardedClassifier, merge_top_k
from models.title_encoders import encode_title
from models.visual_backbone import backbone_trunk, build_backbone
from models.weight_decay import check_scope, decay_kernels
from sicot.config import SicotConfig

# The accuracy metrics read at most this many best classes per example (top1, top3).
METRIC_TOP_K = 3


def build_semantic_stream(
    config: SicotConfig, vocab_size: int, word_vectors: np.ndarray | None = None
) -> keras.Model:
    """[B, L] title token ids (0 = padding) -> ([B, D] embedding, [B, L] word weights).

    Word embeddings have the size of the pretrained vectors when given (else D) and are
    projected to D (linear, then ReLU, so they live where x_v lives: x_v >= 0).
    """
    dim = config.model.feature_dim
    ids = keras.Input((config.preprocessing.max_title_tokens,), dtype="int64", name=features.TITLE_TOKEN_IDS)
    embed_dim = dim if word_vectors is None else word_vectors.shape[1]
    # train.row_sparse_updates: a lookup that reads only its rows (models/row_gather_embedding.py).
    embedding = (RowGatherEmbedding if config.train.row_sparse_updates else layers.Embedding)(
        vocab_size,
        embed_dim,
        mask_zero=True,
        embeddings_initializer=(
            "uniform" if word_vectors is None else keras.initializers.Constant(word_vectors)
        ),
        name="word_embedding",
    )
    words = embedding(ids)
    mask = ids > 0
    if word_vectors is not None or config.model.project_words:
        words = layers.Dense(dim, activation="relu", name="word_projection")(words)
    else:
        words = layers.ReLU(name="word_relu")(words)
    title, weights = encode_title(
        config.model.title_encoder, words, mask, dim, config.model.attention_rank, config.model.attention_temperature
    )
    return keras.Model(ids, [title, weights], name="semantic_stream")


class SicotModel(keras.Model):
    """Visual classifier, co-trained with titles through the shared classifier."""

    def __init__(
        self,
        visual: keras.Model,
        classifier: layers.Layer,
        semantic: keras.Model | None = None,
        mixed_loss_weight: float = 1.0,
        dropout: float = 0.0,
        partial_fc_ratio: float = 1.0,
        seed: int = 0,
        partial_fc_correction: bool = True,
        loss_logit_offsets: np.ndarray | None = None,
        mixed_stream_scaling: str = "none",
        mixed_loss_warmup_steps: int = 0,
        mixed_loss_trains_backbone: bool = True,
        alignment_weight: float = 0.0,
        alignment_target: str = "semantic",
        title_word_dropout: float = 0.0,
        word_predictor: layers.Layer | None = None,
        word_prediction_weight: float = 0.0,
        word_prediction_negatives: int = 0,
        mixed_example_weights: np.ndarray | None = None,
        distillation_weight: float = 0.0,
        distillation_temperature: float = 2.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.visual = visual
        self.classifier = classifier
        self.semantic = semantic
        self.mixed_loss_weight = mixed_loss_weight
        # lambda ramps up linearly from 0 over the first mixed_loss_warmup_steps steps.
        self.mixed_loss_warmup_steps = mixed_loss_warmup_steps
        self.mixed_stream = MixedStream(mixed_stream_scaling, mixed_loss_trains_backbone, name="mixed_stream")
        # mu of the stream alignment term (models/stream_alignment.py); 0 = the paper.
        self.alignment_weight = alignment_weight
        self.alignment_target = alignment_target
        # kappa and T of the mixed-stream distillation (models/mixed_stream_distillation.py,
        # which checks T); 0 = the paper.
        self.distillation_weight = distillation_weight if semantic is not None else 0.0
        self.distillation_temperature = distillation_temperature
        # In training, each title word is dropped with this probability (modality dropout:
        # a title that names the SKU would make the mixed head a text classifier).
        self.title_word_dropout = title_word_dropout
        self.word_dropout_seed = keras.random.SeedGenerator(seed + 1) if title_word_dropout > 0 else None
        # Title word prediction from the image (models/title_word_prediction.py), training only.
        self.word_predictor = word_predictor
        self.word_prediction_weight = word_prediction_weight
        # N > 0: in training, the loss is its sampled estimate from the batch's title
        # words and N drawn others (title_word_prediction.sampled_word_prediction_loss).
        if word_prediction_negatives < 0:
            raise ValueError(f"model.title_word_prediction_negatives must be 0 (every word) or more, "
                             f"got {word_prediction_negatives}")
        sampled = word_predictor is not None and 0 < word_prediction_negatives < word_predictor.vocab_size - 1
        self.word_prediction_negatives = word_prediction_negatives if sampled else 0
        self.word_negatives_seed = keras.random.SeedGenerator(seed + 2) if sampled else None
        self.dropout = layers.Dropout(dropout)
        if partial_fc_ratio < 1.0 and not isinstance(classifier, ShardedClassifier):
            raise ValueError("partial FC samples the columns of a ShardedClassifier (one shard is fine)")
        self.partial_fc_ratio = partial_fc_ratio
        self.partial_fc_correction = partial_fc_correction
        self.partial_fc_seed = keras.random.SeedGenerator(seed) if partial_fc_ratio < 1.0 else None
        # Logit-adjusted loss / balanced softmax (models/logit_adjusted_loss.py): a
        # constant [C] added to the logits of every loss term, never to predictions.
        self.loss_logit_offsets = (
            None if loss_logit_offsets is None else tf.constant(loss_logit_offsets, dtype=tf.float32)
        )
        # Class-balanced weights of the mixed term's examples, [C] by label
        # (models/class_balanced_weights.py); None: every example weighs 1 (the paper).
        self.mixed_example_weights = (
            None if mixed_example_weights is None else tf.constant(mixed_example_weights, dtype=tf.float32)
        )
        self.ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        self.visual_loss_tracker = keras.metrics.Mean(name="visual_loss")
        self.mixed_loss_tracker = keras.metrics.Mean(name="mixed_loss") if semantic is not None else None
        self.semantic_share_tracker = keras.metrics.Mean(name="semantic_share") if semantic is not None else None
        self.alignment_tracker = (
            keras.metrics.Mean(name="alignment_loss") if semantic is not None and alignment_weight > 0 else None
        )
        self.word_loss_tracker = keras.metrics.Mean(name="word_loss") if word_predictor is not None else None
        self.distillation_tracker = (
            keras.metrics.Mean(name="distillation_loss") if self.distillation_weight > 0 else None
        )

    def build(self, input_shape):
        """Creates the shared classifier's weights (the streams are functional models,
        built already): the whole state exists before the first step, so a backup can
        be restored into it and a strategy places it at creation."""
        if not self.classifier.built:
            self.classifier.build((None, self.visual.output_shape[-1]))
        if self.word_predictor is not None and not self.word_predictor.built:
            self.word_predictor.build((None, self.visual.output_shape[-1]))

    def call(self, pixels, training=False):
        return self.classifier(self.visual_features(pixels, training))

    def visual_features(self, pixels, training=False):
        return self.dropout(self.visual(pixels, training=training), training=training)

    def stream_features(self, pixels, token_ids, training=False):
        """(x_v, s, x_m = max(x_v, s) (models/mixed_stream.py), has_title, the share of x_m's
        dimensions that come from the title) for a batch with titles."""
        x_v = self.visual_features(pixels, training)
        if training and self.title_word_dropout > 0:
            keep = keras.random.uniform(tf.shape(token_ids), seed=self.word_dropout_seed) >= self.title_word_dropout
            token_ids = tf.where(keep, token_ids, tf.zeros_like(token_ids))
        semantic, _ = self.semantic(token_ids, training=training)
        x_m, semantic_share = self.mixed_stream(x_v, semantic)
        return x_v, semantic, x_m, tf.reduce_any(token_ids > 0, axis=1), semantic_share

    def mixed_weight(self) -> tf.Tensor:
        """lambda at this step (the linear warm-up, then model.mixed_loss_weight)."""
        if self.mixed_loss_warmup_steps <= 0:
            return tf.constant(self.mixed_loss_weight, tf.float32)
        step = tf.cast(self.optimizer.iterations, tf.float32)
        return self.mixed_loss_weight * tf.minimum(1.0, step / float(self.mixed_loss_warmup_steps))

    @property
    def sharded(self) -> bool:
        return isinstance(self.classifier, ShardedClassifier)

    def _head_cross_entropies(self, streams, y, training):
        """Per-example CE [B] of each stream's features through the shared classifier,
        what the accuracy metrics read: the first stream's logits (Dense), or its top-k
        class ids merged from the shards (sharded, partial FC: no full logits), and each
        stream's logits without margin or offsets (sharded: its shards' logits, over the
        step's sampled columns with partial FC)."""
        offsets = self.loss_logit_offsets
        if not self.sharded:
            logits = [self.classifier(f) for f in streams]
            loss_logits = logits
            if isinstance(self.classifier, CosineClassifier) and training:
                loss_logits = [self.classifier.margin_logits(l, y) for l in loss_logits]
            if offsets is not None:
                loss_logits = [l + offsets for l in loss_logits]
            return [self.ce(y, l) for l in loss_logits], logits[0], logits
        classifier = self.classifier
        if training and self.partial_fc_ratio < 1.0:
            sample = sample_classes(classifier, y, self.partial_fc_ratio, self.partial_fc_seed)
            shard_logits = [classifier.shard_logits(f, sample.columns) for f in streams]
            class_ids, positions = sample.class_ids, sample.label_positions
            loss_logits = [classifier.margin_logits(l, positions, sample.columns) for l in shard_logits]
            if self.partial_fc_correction:
                loss_logits = [sample.corrected(l) for l in loss_logits]
        else:
            shard_logits = [classifier.shard_logits(f) for f in streams]
            class_ids, positions = classifier.shard_class_ids(), classifier.label_positions(y)
            loss_logits = [classifier.margin_logits(l, positions) for l in shard_logits] if training else shard_logits
        if offsets is not None:
            loss_logits = [[l + tf.gather(offsets, ids) for l, ids in zip(head, class_ids)] for head in loss_logits]
        _, top_ids = merge_top_k(shard_logits[0], class_ids, METRIC_TOP_K, classifier.shard_devices)
        return [classifier.cross_entropy(l, positions) for l in loss_logits], top_ids, shard_logits

    def _stream_losses(self, x, y, training):
        pixels = x[features.IMAGE_PIXELS]
        batch = tf.cast(tf.shape(y)[0], tf.float32)
        share = alignment = word_loss = distillation = tf.constant(0.0)
        if self.semantic is None:
            (visual_ce,), predictions, _ = self._head_cross_entropies([self.visual_features(pixels, training)], y,
                                                                      training)
            mixed_loss = tf.constant(0.0)
        else:
            x_v, semantic, x_m, has_title, shares = self.stream_features(pixels, x[features.TITLE_TOKEN_IDS], training)
            (visual_ce, mixed_ce), predictions, logits = self._head_cross_entropies([x_v, x_m], y, training)
            titled = tf.cast(has_title, tf.float32)
            if self.mixed_example_weights is not None:
                mixed_ce = mixed_ce * tf.gather(self.mixed_example_weights, tf.cast(y, tf.int32))
            # Mean over the whole batch, so lambda weighs the two terms per example.
            mixed_loss = tf.reduce_sum(mixed_ce * titled) / batch
            share = tf.reduce_sum(shares * titled) / tf.maximum(tf.reduce_sum(titled), 1.0)
            if self.alignment_weight > 0:
                alignment = tf.reduce_sum(alignment_loss(x_v, semantic, self.alignment_target) * titled) / batch
            if self.word_predictor is not None:
                token_ids = x[features.TITLE_TOKEN_IDS]
                if training and self.word_prediction_negatives:
                    words = sampled_word_prediction_loss(self.word_predictor, x_v, token_ids,
                                                         self.word_prediction_negatives, self.word_negatives_seed)
                else:
                    words = word_prediction_loss(self.word_predictor(x_v), token_ids)
                word_loss = tf.reduce_sum(words * titled) / batch
            if self.distillation_weight > 0:
                devices = self.classifier.shard_devices if self.sharded else None
                gaps = distillation_loss(logits[0], logits[1], self.distillation_temperature, devices)
                distillation = tf.reduce_sum(gaps * titled) / batch
        visual_loss = tf.reduce_mean(visual_ce)
        total = visual_loss
        if self.semantic is not None:
            total += self.mixed_weight() * mixed_loss + self.alignment_weight * alignment
            total += self.word_prediction_weight * word_loss + self.distillation_weight * distillation
        if self.losses:
            total += tf.add_n(self.losses)
        self._last_alignment = alignment  # read by train_step in the same graph, for its metric
        self._last_word_loss = word_loss
        self._last_distillation = distillation
        return total, visual_loss, mixed_loss, predictions, share

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            total, visual_loss, mixed_loss, predictions, share = self._stream_losses(x, y, training=True)
            # Replicas' gradients are summed: each replica's loss is its share of the mean.
            replica_total = total / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(replica_total, variables), variables))
        return self._update_metrics(y, predictions, total, visual_loss, mixed_loss, share, self._last_alignment,
                                    self._last_word_loss, self._last_distillation)

    def test_step(self, data):
        x, y = data
        pixels = x[features.IMAGE_PIXELS]
        (visual_ce,), predictions, _ = self._head_cross_entropies([self.visual_features(pixels)], y, training=False)
        visual_loss = tf.reduce_mean(visual_ce)
        results = self._update_metrics(y, predictions, visual_loss, visual_loss, None)
        # Evaluation sees the image alone: the title terms have no value there, and a
        # val_mixed_loss of 0 in the logs would read as a perfect mixed head.
        title_terms = {t.name for t in self.title_trackers()}
        return {name: value for name, value in results.items() if name not in title_terms}

    def title_trackers(self) -> list[keras.metrics.Metric]:
        """The metrics of the training terms that read the title (none in a visual-only model)."""
        return [t for t in (self.mixed_loss_tracker, self.semantic_share_tracker, self.alignment_tracker,
                            self.word_loss_tracker, self.distillation_tracker) if t is not None]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras 3.15's fit reduces the first distributed batch (a nested structure) to
        build the model symbolically, which MultiWorkerMirroredStrategy's collective
        reduce refuses; one replica's batch gives the same shapes."""
        if iterator is not None and self._distribute_strategy is not None:
            for _, _, batches in iterator:
                local = self.distribute_strategy.experimental_local_results
                data_batch = keras.tree.map_structure(
                    lambda v: local(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v, next(batches)
                )
                break
            iterator = None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def backbone_trunk(self) -> keras.Model:
        """The visual layers that pretrained weights fill, frozen in the fit loop's warm-up."""
        return backbone_trunk(self.visual)

    def accuracy_metrics(self) -> list[keras.metrics.Metric]:
        """top1 and top3, read from the logits (Dense) or the merged top-k ids (sharded)."""
        k = min(METRIC_TOP_K, self.classifier.units)
        if self.sharded:
            return [
                keras.metrics.SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True, name="top1"),
                keras.metrics.SparseTopKCategoricalAccuracy(k=k, from_sorted_ids=True, name="top3"),
            ]
        return [
            keras.metrics.SparseCategoricalAccuracy(name="top1"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=k, name="top3"),
        ]

    def _update_metrics(self, y, predictions, total, visual_loss, mixed_loss, share=None, alignment=None,
                        word_loss=None, distillation=None):
        """Keras' own loss tracker gets the total; compiled metrics see the visual stream's
        predictions (see _head_cross_entropies)."""
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(total)
            elif metric is self.visual_loss_tracker:
                metric.update_state(visual_loss)
            elif metric is self.mixed_loss_tracker:
                if mixed_loss is not None:
                    metric.update_state(mixed_loss)
            elif metric is self.semantic_share_tracker:
                if share is not None:
                    metric.update_state(share)
            elif metric is self.alignment_tracker:
                if alignment is not None:
                    metric.update_state(alignment)
            elif metric is self.word_loss_tracker:
                if word_loss is not None:
                    metric.update_state(word_loss)
            elif metric is self.distillation_tracker:
                if distillation is not None:
                    metric.update_state(distillation)
            else:
                metric.update_state(y, predictions)
        results = self.get_metrics_result()
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15's fit averages each log over workers along axis 0, which a
            # scalar lacks under MultiWorkerMirroredStrategy: give it one.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def inference_model(self) -> keras.Model:
        """A functional image-only model sharing this model's layers (for export)."""
        pixels = keras.Input(self.visual.input_shape[1:], name=features.IMAGE_PIXELS)
        return keras.Model(pixels, self.classifier(self.visual(pixels)), name="sicot_inference")


def build_sicot_model(
    config: SicotConfig,
    num_classes: int,
    vocab_size: int,
    word_vectors: np.ndarray | None = None,
    class_counts: np.ndarray | None = None,
    steps_per_epoch: int = 0,
) -> SicotModel:
    """class_counts: training images per class id (the logit-adjusted losses need them);
    steps_per_epoch: for model.mixed_loss_warmup_epochs."""
    m = config.model
    check_scope(config.train.weight_decay_scope)
    offsets = None
    if config.long_tail.loss != "softmax":
        if class_counts is None:
            raise ValueError(f"long_tail.loss={config.long_tail.loss} needs the training class counts")
        offsets = loss_logit_offsets(config.long_tail.loss, class_counts, config.long_tail.loss_tau)
    mixed_example_weights = None
    if m.co_training and m.mixed_loss_class_balance > 0:
        if class_counts is None:
            raise ValueError("model.mixed_loss_class_balance needs the training class counts")
        mixed_example_weights = class_balanced_weights(class_counts, m.mixed_loss_class_balance)
    visual = build_backbone(m.backbone, config.preprocessing.image_size, m.feature_dim, m.backbone_weights)
    semantic = build_semantic_stream(config, vocab_size, word_vectors) if m.co_training else None
    classifier = build_classifier(config, num_classes)
    # Built here, outside the model's name scope: its variables keep the paths
    # classifier/kernel... that a lazily built classifier has.
    classifier.build((None, m.feature_dim))
    model = SicotModel(
        visual,
        classifier,
        semantic,
        m.mixed_loss_weight,
        m.dropout,
        partial_fc_ratio=m.partial_fc_ratio,
        seed=config.train.seed,
        partial_fc_correction=uses_logq_correction(m.partial_fc_correction, m.classifier),
        loss_logit_offsets=offsets,
        mixed_stream_scaling=m.mixed_stream_scaling,
        mixed_loss_warmup_steps=m.mixed_loss_warmup_epochs * steps_per_epoch,
        mixed_loss_trains_backbone=m.mixed_loss_trains_backbone,
        alignment_weight=m.stream_alignment_weight,
        alignment_target=m.stream_alignment_target,
        title_word_dropout=m.title_word_dropout,
        word_predictor=(
            TitleWordPredictor(vocab_size, word_rows=m.title_word_prediction_negatives > 0, name="title_word_predictor")
            if m.co_training and m.title_word_prediction_weight > 0 else None
        ),
        word_prediction_weight=m.title_word_prediction_weight,
        word_prediction_negatives=m.title_word_prediction_negatives,
        mixed_example_weights=mixed_example_weights,
        distillation_weight=m.mixed_distillation_weight,
        distillation_temperature=m.mixed_distillation_temperature,
        name="sicot",
    )
    model.build(visual.input_shape)
    if config.train.weight_decay_scope == "kernels":
        decay_kernels(model, config.train.weight_decay)
    return model


CLASSIFIERS = ("dense", "cosine")


def build_classifier(config: SicotConfig, num_classes: int) -> layers.Layer:
    """The shared classifier (model.classifier: dense, or cosine: models/cosine_classifier.py):
    one layer, or (model.classifier_shards > 1, or partial FC on) a ShardedClassifier over
    model.classifier_devices."""
    m = config.model
    if m.classifier not in CLASSIFIERS:
        raise ValueError(f"unknown model.classifier '{m.classifier}' (known: {', '.join(CLASSIFIERS)})")
    cosine = m.classifier == "cosine"
    regularizer = keras.regularizers.L2(config.train.weight_decay)
    if m.classifier_shards == 1 and m.partial_fc_ratio >= 1.0 and not m.classifier_devices:
        if cosine:
            return CosineClassifier(num_classes, m.cosine_scale, m.cosine_margin, m.cosine_margin_type,
                                    kernel_regularizer=regularizer, name="classifier")
        return layers.Dense(num_classes, kernel_regularizer=regularizer, name="classifier")
    return ShardedClassifier(
        num_classes, m.classifier_shards, m.classifier_devices, kernel_regularizer=regularizer,
        normalized=cosine, scale=m.cosine_scale, margin=m.cosine_margin if cosine else 0.0,
        margin_type=m.cosine_margin_type, name="classifier",
    )
