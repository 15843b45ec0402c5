"""The two SavedModels the Trainer writes: the serving model and the evaluation model.

TFX's Trainer has two export paths, and sicot writes both:

- the **serving model** (``Format-Serving``, what the Pusher pushes, TF Serving and the
  service load): the image signatures only, ``serving_default`` and
  ``predict_examples``, with core TensorFlow ops only, so any TensorFlow runtime
  serves it (no TensorFlow Text, no Transform graph; the label vocabulary is a constant
  inside it);
- the **evaluation model** (``Format-TFMA``, which the Evaluator prefers when present,
  and which ``sicot compare``, the report and the attention view read): the same two
  signatures plus ``transform_features`` and ``title_attention``, which tokenise titles
  with TensorFlow Text.

Signatures (``saved_model_cli show --dir MODEL --all`` lists them):

- ``serving_default``: ``images`` [B] encoded image bytes (PNG/JPEG/GIF/BMP, any size;
  decoded and resized in the graph) -> ``labels`` [B, k] label (SKU) strings,
  ``scores`` [B, k] probabilities, ``class_ids`` [B, k] indices, top-k first.
  The image alone: the title is never an input. With a sharded classifier the top-k is
  merged from per-shard top-k (the full logits are never formed).
- ``predict_examples``: ``examples`` [B] serialized tf.Examples -> ``probabilities``
  [B, C]; used by TFMA and for batch scoring.
- ``transform_features``: ``examples`` [B] serialized tf.Examples -> the transformed
  non-image features (``label_id``, title ids) plus ``label_train_count`` (the
  training frequency of the example's class), ``label_group`` (``head``/``tail``) and
  ``label_frequency_bucket`` (e.g. ``6-20``), by the ``eval.*`` settings (see
  sicot/head_tail.py); TFMA's preprocessing function, whose outputs it slices on.
- ``title_attention`` (co-trained models only): ``titles`` [B] strings -> ``words``
  [B, L] (the kept words, "" for padding) and their attention ``weights`` [B, L]
  (the paper's Fig. 7 view). Never used for recognition.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models import features
from models.image_preprocessing import decode_images
from models.preprocessing import read_label_frequencies
from models.sharded_classifier import ShardedClassifier
from models.title_ids import keep_word_ranks, padded_token_ids
from models.title_tokenizer import tokenize_titles
from sicot import head_tail
from sicot.config import SicotConfig

LABEL_TRAIN_COUNT = "label_train_count"
# TF Serving's Classify RPC serves a signature with this method name, input "inputs"
# (serialized tf.Examples) and outputs "classes" (strings) and "scores".
CLASSIFY_SIGNATURE = "classify"
CLASSIFY_METHOD = "tensorflow/serving/classify"


def hold_keras_object(module: tf.Module, name: str, keras_object) -> None:
    """Sets module.<name> to a Keras 3 model or layer without tracking it, and tracks its
    variables' tf.Variables instead. A tracked Keras 3 object saves a second copy of
    each variable (its KerasVariable) beside the tf.Variable the graph reads: TF2's
    loader copes, but TF1's (``saved_model_cli run``, the C++ ``LoadSavedModel``)
    restores the copies and runs the graph on uninitialised variables."""
    object.__setattr__(module, name, keras_object)
    held = module.__dict__.setdefault("_held_variable_ids", set())
    if "exported_variables" not in module.__dict__:
        module.exported_variables = []
    for variable in keras_object.weights:
        value = getattr(variable, "value", variable)
        if id(value) not in held:
            held.add(id(value))
            module.exported_variables.append(value)


class TitleAttentionModule(tf.Module):
    """Titles -> kept words and their attention weights, through the trained stream."""

    def __init__(self, semantic: keras.Model, tft_output: tft.TFTransformOutput, config: SicotConfig):
        super().__init__(name="title_attention")
        hold_keras_object(self, "semantic", semantic)
        vocab = tft_output.vocabulary_by_name(features.WORD_VOCABULARY)
        self._vocab_size = len(vocab)
        self._words = tf.constant([b""] + list(vocab), dtype=tf.string)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(vocab), dtype=tf.string), tf.range(len(vocab), dtype=tf.int64)
            ),
            default_value=len(vocab),  # out of vocabulary: dropped like the rarest words
        )
        pre = config.preprocessing
        self._drop = (pre.drop_most_frequent_words, pre.drop_least_frequent_words, pre.drop_min_vocabulary,
                      pre.dedupe_title_words)
        self._max_tokens = pre.max_title_tokens

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="titles")])
    def __call__(self, titles):
        ranks = tf.ragged.map_flat_values(self._table.lookup, tokenize_titles(titles))
        ranks = keep_word_ranks(ranks, self._vocab_size, *self._drop)
        ids, _ = padded_token_ids(ranks, self._max_tokens)
        _, weights = self.semantic(ids, training=False)
        return {"words": tf.gather(self._words, ids), "weights": weights}


class LabelFrequencySlices(tf.Module):
    """Training counts -> head/tail group and frequency bucket names (sicot/head_tail.py)."""

    def __init__(self, head_min_train_images: int, bounds: list[int]):
        super().__init__(name="label_frequency_slices")
        self._head_min = tf.constant(head_min_train_images, tf.int64)
        self._bounds = tf.constant(head_tail.check_bounds(bounds), tf.int64)
        self._names = tf.constant(head_tail.bucket_names(bounds) + [head_tail.UNSEEN])

    def __call__(self, counts: tf.Tensor) -> dict[str, tf.Tensor]:
        group = tf.where(counts >= self._head_min, head_tail.HEAD, head_tail.TAIL)
        index = tf.searchsorted(self._bounds, counts, side="left")
        index = tf.where(counts > 0, index, tf.size(self._names, out_type=index.dtype) - 1)
        return {head_tail.LABEL_GROUP: group, head_tail.LABEL_FREQUENCY_BUCKET: tf.gather(self._names, index)}


class ServingModule(tf.Module):
    """The image signatures: core TensorFlow ops only (what the Pusher pushes)."""

    def __init__(
        self,
        model: keras.Model,
        tft_output: tft.TFTransformOutput,
        config: SicotConfig,
        sharded_head: tuple[keras.Model, ShardedClassifier] | None = None,
    ):
        super().__init__(name="sicot")
        image_size, top_k = config.preprocessing.image_size, config.serving.top_k
        hold_keras_object(self, "model", model)
        if sharded_head is not None:
            hold_keras_object(self, "visual", sharded_head[0])
            hold_keras_object(self, "classifier", sharded_head[1])
        self._label_names = [v.decode("utf-8") for v in tft_output.vocabulary_by_name(features.LABEL_VOCABULARY)]
        self._labels = tf.constant(self._label_names, dtype=tf.string)
        self._image_size = image_size
        self._top_k = max(1, min(top_k, len(self._label_names)))

    def _probabilities(self, images: tf.Tensor) -> tf.Tensor:
        pixels = decode_images(images, self._image_size)
        return tf.nn.softmax(self.model(pixels, training=False), axis=-1)

    def _best_classes(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if "classifier" in self.__dict__:
            pixels = decode_images(images, self._image_size)
            return self.classifier.top_k(self.visual(pixels, training=False), self._top_k)
        top = tf.math.top_k(self._probabilities(images), k=self._top_k)
        return top.values, top.indices

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def recognize(self, images):
        scores, class_ids = self._best_classes(images)
        return {
            "labels": tf.gather(self._labels, class_ids),
            "scores": scores,
            "class_ids": tf.cast(class_ids, tf.int64),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def predict_examples(self, examples):
        parsed = tf.io.parse_example(examples, {features.IMAGE: tf.io.FixedLenFeature([], tf.string)})
        return {"probabilities": self._probabilities(parsed[features.IMAGE])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        """TF Serving's Classify: serialized tf.Examples (only ``image`` is read) ->
        ``classes`` [B, k] SKU strings and their ``scores`` [B, k], best first."""
        parsed = tf.io.parse_example(inputs, {features.IMAGE: tf.io.FixedLenFeature([], tf.string)})
        scores, class_ids = self._best_classes(parsed[features.IMAGE])
        return {"classes": tf.gather(self._labels, class_ids), "scores": scores}

    def signatures(self) -> dict:
        return {
            "serving_default": self.recognize,
            "predict_examples": self.predict_examples,
            CLASSIFY_SIGNATURE: self.classify,
        }


class EvaluationModule(ServingModule):
    """The serving signatures plus what TFMA and the report need: the Transform graph
    (TFMA's preprocessing function, with the head/tail slice features) and the title
    attention. These read titles, with TensorFlow Text."""

    def __init__(
        self,
        model: keras.Model,
        tft_output: tft.TFTransformOutput,
        config: SicotConfig,
        sharded_head: tuple[keras.Model, ShardedClassifier] | None = None,
        semantic: keras.Model | None = None,
    ):
        super().__init__(model, tft_output, config, sharded_head)
        self.tft_layer = tft_output.transform_features_layer()
        counts = read_label_frequencies(tft_output)
        self._label_counts = tf.constant(np.array([counts.get(l, 0) for l in self._label_names], dtype=np.int64))
        self._raw_spec = tft_output.raw_feature_spec()
        self._slices = LabelFrequencySlices(config.eval.head_min_train_images, config.eval.frequency_buckets)
        if semantic is not None:
            self.title_attention = TitleAttentionModule(semantic, tft_output, config)

    def signatures(self) -> dict:
        out = {**super().signatures(), "transform_features": self.transform_features}
        if hasattr(self, "title_attention"):
            out["title_attention"] = self.title_attention.__call__
        return out

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        parsed = tf.io.parse_example(examples, self._raw_spec)
        transformed = self.tft_layer(parsed)
        outputs = {k: v for k, v in transformed.items() if k != features.IMAGE_PIXELS}
        label_id = tf.reshape(transformed[features.LABEL_ID], [-1])
        counts = tf.where(
            label_id >= 0, tf.gather(self._label_counts, tf.maximum(label_id, 0)), tf.zeros_like(label_id)
        )
        outputs[LABEL_TRAIN_COUNT] = counts
        outputs.update(self._slices(counts))
        return outputs


def export_recognition_models(
    model: keras.Model,
    tft_output: tft.TFTransformOutput,
    config: SicotConfig,
    serving_dir: str,
    evaluation_dir: str | None = None,
    semantic: keras.Model | None = None,
    sharded_head: tuple[keras.Model, ShardedClassifier] | None = None,
) -> None:
    """Writes the serving model to serving_dir and, with evaluation_dir, the evaluation
    model there. sharded_head: (visual backbone, sharded classifier) of a sharded model,
    whose serving top-k then merges per-shard top-k."""
    serving = ServingModule(model, tft_output, config, sharded_head)
    tf.saved_model.save(serving, serving_dir, signatures=serving.signatures())
    set_method_names(serving_dir, {CLASSIFY_SIGNATURE: CLASSIFY_METHOD})
    if evaluation_dir:
        evaluation = EvaluationModule(model, tft_output, config, sharded_head, semantic)
        tf.saved_model.save(evaluation, evaluation_dir, signatures=evaluation.signatures())
        set_method_names(evaluation_dir, {CLASSIFY_SIGNATURE: CLASSIFY_METHOD})


def set_method_names(export_dir: str, methods: dict[str, str]) -> None:
    """Sets the method_name of signature_defs in a saved_model.pb. TF2's
    tf.saved_model.save gives every signature "tensorflow/serving/predict"; TF Serving
    routes the Classify RPC to a signature only by its method name (TF2's loader
    ignores it)."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = tf.io.gfile.join(export_dir, "saved_model.pb")
    model = saved_model_pb2.SavedModel.FromString(tf.io.gfile.GFile(path, "rb").read())
    for graph in model.meta_graphs:
        for name, method in methods.items():
            graph.signature_def[name].method_name = method
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(model.SerializeToString())


def read_title_attention(model_dir: str, titles: list[str]) -> list[list[tuple[str, float]]]:
    """For each title, its kept words with their attention weights, highest first."""
    signature = tf.saved_model.load(model_dir).signatures["title_attention"]
    out = signature(titles=tf.constant(titles))
    result = []
    for words, weights in zip(out["words"].numpy(), out["weights"].numpy()):
        pairs = [(w.decode("utf-8"), float(a)) for w, a in zip(words, weights) if w]
        result.append(sorted(pairs, key=lambda p: -p[1]))
    return result
