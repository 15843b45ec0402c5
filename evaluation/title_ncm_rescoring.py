"""Class means of the training titles as the classifier of a co-trained model:
``sicot report RUN_DIR --rescore title_ncm`` (and ``ncm_title``, both means together).

A co-trained model learns a title embedding ``s`` in the space of its visual feature
``x_v`` (the same size; with stream alignment, ``model.stream_alignment_weight``,
``x_v`` is pulled towards the direction of its title's ``s``). A class's titles say
what its product is whatever the photo looks like, and a tail class's one or two photos
may come from a vendor whose renderings the test images do not share. So the classes'
mean title embeddings are candidate class prototypes that no count of photos limits:

    title_ncm:  z_j = x_v . t_j / ||t_j||                       t_j: mean s over class j's training titles
    ncm_title:  z_j = x_v . (m_j / ||m_j|| + t_j / ||t_j||)      m_j: mean x_v over its training images

(ranking by cosine similarity, as evaluation/ncm_rescoring.py's ``ncm``, which is the
first term alone with ``m_j``). The titles are read only here, once, from the training
split: the re-scored classifier is a kernel of the usual shape written into the
model's classifier, and it predicts from the image alone, like any other weights.

``s`` is computed from the exported evaluation model: the word weights from its
``title_attention`` signature (the trained encoder's own graph) and the word vectors
from the variables that signature holds (``word_embedding``, then ``word_projection``
and a ReLU, or a ReLU alone: models/sicot_model.build_semantic_stream), with the
title token ids of its ``transform_features``: ``s = sum_l a_l v(id_l)``
(``title_embedding``). That is the title embedding of the encoders that weight the
word vectors (``mean``, ``bilinear_attention``); BiLSTM encoders are refused.
Untitled images (no word left after the vocabulary's drops) add nothing to their
class's title mean; a class with no titled training image has no title mean (UNTITLED
says what it gets; the report names how many).

Cost: the ``ncm`` probe's passes over the training split for ``ncm_title``, one more
pass of the title signatures over it (one per model for title_ncm, ncm_title and
crt_mixed together: ``title_embeddings`` keeps the last split it read), then the
validation and scored splits as ``ncm``.
"""

from __future__ import annotations

import numpy as np

from evaluation.ncm_rescoring import check_probeable, features_through_classifier, rescored_with_kernel, training_split
from evaluation.posthoc_rescoring import check_rescorable, evaluation_model, example_batches, kept_for_loaded_model
from evaluation.rescoring_names import NCM_TITLE, TITLE_NCM
from evaluation.run_results import ModelResult, RunResultsError
from models.nearest_class_mean import class_means, classes_without_mean, ncm_kernel
from models import features

WEIGHTED_SUM_ENCODERS = ("mean", "bilinear_attention")
# What a class none of whose training images has a title left after the word drops gets.
UNTITLED = {TITLE_NCM: "scored 0, never ranked above a class with a title mean",
            NCM_TITLE: "its image mean alone"}


def word_vectors(variables: dict[str, np.ndarray]) -> np.ndarray:
    """[V, D] every word's vector as the semantic stream feeds it to the encoder."""
    embeddings = variables["word_embedding/embeddings"]
    if "word_projection/kernel" in variables:
        embeddings = embeddings @ variables["word_projection/kernel"] + variables["word_projection/bias"]
    return np.maximum(embeddings, 0.0)


def title_embedding(vectors: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[B, D] ``sum_l weights[b, l] * vectors[ids[b, l]]`` (ids [B, L], 0 = padding)."""
    return np.einsum("bl,bld->bd", weights * (ids > 0), vectors[ids])


def _variables(loaded, model_dir: str) -> dict[str, np.ndarray]:
    module = getattr(loaded, "title_attention", None)
    found = {v.name.split(":")[0]: v.numpy().astype(np.float64) for v in getattr(module, "exported_variables", [])}
    if "word_embedding/embeddings" not in found:
        raise RunResultsError(f"{model_dir}: no title stream among its variables (a co-trained model's "
                              f"evaluation model holds word_embedding/embeddings)")
    return found


# The last split's title embeddings: title_ncm, ncm_title and crt_mixed of one model
# read the same training split (posthoc_rescoring.kept_for_loaded_model).
_last_embedded: list = []  # [(loaded model, (model_dir, examples_dir, batch), (embeddings, titled))]


def title_embeddings(model_dir: str, examples_dir, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """([N, D] each example's title embedding s, [N] whether it has a title) for every
    example of a split folder, in the files' order; the last split read is kept and
    given again (copies) for the same loaded model and folder."""
    loaded = evaluation_model(model_dir)
    key = (str(model_dir), str(examples_dir), int(batch))
    embeddings, titled = kept_for_loaded_model(_last_embedded, loaded, key,
                                               lambda: _embedded_titles(loaded, model_dir, examples_dir, batch))
    return embeddings.copy(), titled.copy()


def _embedded_titles(loaded, model_dir: str, examples_dir, batch: int) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    vectors = word_vectors(_variables(loaded, model_dir))
    transform = loaded.signatures["transform_features"]
    attention = loaded.signatures["title_attention"]
    spec = {features.TITLE: tf.io.FixedLenFeature([], tf.string, default_value="")}
    out, titled = [], []
    for records in example_batches(examples_dir, batch):
        ids = transform(examples=records)[features.TITLE_TOKEN_IDS].numpy().astype(np.int64)
        titles = tf.io.parse_example(records, spec)[features.TITLE]
        weights = attention(titles=titles)["weights"].numpy().astype(np.float64)
        if weights.shape != ids.shape or np.any(weights[ids == 0] != 0):
            raise RunResultsError(f"{model_dir}: the title signatures disagree on the words of a title in "
                                  f"{examples_dir} (weights {weights.shape}, ids {ids.shape})")
        out.append(title_embedding(vectors, ids, weights))
        titled.append(np.any(ids > 0, axis=1))
    return np.concatenate(out), np.concatenate(titled)


def check_title_encoder(model: ModelResult) -> None:
    if not model.config.model.co_training:
        raise ValueError(f"{model.variant}: a visual-only model has no title stream")
    if model.config.model.title_encoder not in WEIGHTED_SUM_ENCODERS:
        raise ValueError(f"{model.variant}: title encoder {model.config.model.title_encoder} is not a weighted sum "
                         f"of word vectors (title class means need one of {', '.join(WEIGHTED_SUM_ENCODERS)})")


def rescored(model: ModelResult, method: str = TITLE_NCM, say=None) -> ModelResult:
    """``model`` with the classifier of its training titles' class means (``title_ncm``)
    or of those and its training images' mean features together (``ncm_title``), scored
    on the model's split; variant ``<variant>+<method>``."""
    if method not in (TITLE_NCM, NCM_TITLE):
        raise ValueError(f"unknown title re-scoring '{method}' (known: {TITLE_NCM}, {NCM_TITLE})")
    check_rescorable(model)
    check_title_encoder(model)
    train = training_split(model)
    titles, titled = title_embeddings(model.model_dir, train.folder)
    means = class_means(titles[titled], train.labels[titled], train.classes)
    untitled = classes_without_mean(means)
    kernel = ncm_kernel(means)
    if method == NCM_TITLE:
        check_probeable(model)
        kernel = kernel + ncm_kernel(class_means(features_through_classifier(model.model_dir, train.parts,
                                                                             train.folder), train.labels, train.classes))
    what = f"class means of {int(np.sum(titled))} titled training images"
    if untitled:
        what += f" ({untitled} classes with no titled training image: {UNTITLED[method]})"
    return rescored_with_kernel(model, method, train.parts, kernel, what, say)
