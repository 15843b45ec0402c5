"""Post-hoc logit adjustment of models already trained: ``sicot report RUN_DIR --posthoc``.

The post-hoc logit adjustment (Menon et al., ICLR 2021; ``long_tail.adjustment:
posthoc``, models/classifier_rebalancing.py) edits only the classifier's biases,
``b_j <- b_j - tau * log pi_j`` (pi: the training prior). An image's log-probabilities
differ from its logits by one constant per image, so ranking the classes by
``log p_j(x) - tau * log pi_j`` is ranking them by the re-balanced classifier's logits:
the adjusted top-k of a trained model can be read off the class probabilities its
evaluation model gives (``predict_examples``), without training it again. (The variant
``<model>+posthoc`` of ``sicot compare`` trains a model of its own and edits it before
export; for the same training run, the same seed and data, its predictions are these.)

tau is chosen for each model on the validation split by the Trainer's rule (the grid
``long_tail.adjustment_taus``, the best top-1, the smaller tau on a tie:
``classifier_rebalancing.best_tau``), then the model is scored on the comparison's split
(validation or test). The scores go into the same tables as TFMA's: top-1 and top-3 per
example and per class, on the slices TFMA cuts (``overall``, ``head``/``tail``, the
frequency buckets, read from the evaluation model's ``transform_features``), with
TFMA's tie rule (evaluation/topk_accuracy_metrics.topk_hits). TFMA's per-image 95%
intervals are not computed for the adjusted models; the seeds' intervals are.

Cost: one pass of each model over the validation and the scored split, and the
probabilities of a split in memory ([examples, classes] float64): meant for
``sicot compare``-sized evaluations, not for 10^6 classes.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from evaluation.rescoring_names import POSTHOC
from evaluation.run_results import ModelResult, RunResultsError
from evaluation.topk_accuracy_metrics import topk_hits
from models import class_prior, features
from models.classifier_rebalancing import best_tau
from models.export import LABEL_TRAIN_COUNT
from sicot import head_tail
from sicot.config import SicotConfig
from tfx_pipeline.eval_config import EVALUATION_SPLITS

KS = (1, 3)
# Probabilities are floored here before the log: a class whose probability underflows
# float32 is more than 60 nats behind, farther than any tau * log prior moves it.
_FLOOR = 1e-30


@dataclasses.dataclass
class SplitScores:
    log_probs: np.ndarray  # [N, C]
    labels: np.ndarray  # [N] class ids (-1: a class the model does not know)
    slice_values: dict[str, np.ndarray]  # slicing column -> [N] its value per example (str)


@functools.lru_cache(maxsize=1)
def evaluation_model(model_dir: str):
    """The SavedModel, loaded once for the consecutive splits of one model."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the title signatures' ops)

    return tf.saved_model.load(model_dir)


def kept_for_loaded_model(kept: list, loaded, key: tuple, read):
    """``read()``'s value for ``key``, kept in ``kept`` (one entry, so memory stays one
    split's arrays) and given again while ``loaded`` is still the loaded evaluation
    model (a reload reads again): the re-scorings of one model read its training split
    once (rescoring.with_rescoring goes model by model)."""
    if not (kept and kept[0][0] is loaded and kept[0][1] == key):
        kept[:] = [(loaded, key, read())]
    return kept[0][2]


def example_batches(examples_dir: str | Path, batch: int):
    import tensorflow as tf

    files = sorted(str(p) for p in Path(examples_dir).glob("*") if p.is_file())
    if not files:
        raise RunResultsError(f"no examples in {examples_dir}")
    return tf.data.TFRecordDataset(files, compression_type="GZIP").batch(batch)


def log_probabilities(model_dir: str, examples_dir: str | Path, batch: int = 256) -> np.ndarray:
    """[N, C] the evaluation model's log-probabilities (``predict_examples``, floored)
    for every example of a split folder, in the files' order."""
    predict = evaluation_model(model_dir).signatures["predict_examples"]
    out = []
    for records in example_batches(examples_dir, batch):
        probabilities = predict(examples=records)["probabilities"].numpy().astype(np.float64)
        out.append(np.log(np.maximum(probabilities, _FLOOR)))
    return np.concatenate(out)


def split_labels(model_dir: str, examples_dir: str | Path, batch: int = 256) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """([N] class ids (-1: a class the model does not know), {slicing column: [N] its
    value}) of every example of a split folder, from the model's ``transform_features``."""
    transform = evaluation_model(model_dir).signatures["transform_features"]
    columns = (head_tail.LABEL_GROUP, head_tail.LABEL_FREQUENCY_BUCKET)
    labels, values = [], {c: [] for c in columns}
    for records in example_batches(examples_dir, batch):
        transformed = transform(examples=records)
        labels.append(transformed[features.LABEL_ID].numpy().reshape(-1))
        for column in columns:
            values[column].append(transformed[column].numpy().reshape(-1))
    return (np.concatenate(labels).astype(np.int64),
            {c: np.array([v.decode("utf-8") for v in np.concatenate(v)], dtype=object) for c, v in values.items()})


def split_scores(model_dir: str, examples_dir: str | Path, batch: int = 256) -> SplitScores:
    """The evaluation model's log-probabilities, labels and slicing columns for every
    example of a split folder (gzipped TFRecords of tf.Examples)."""
    labels, slice_values = split_labels(model_dir, examples_dir, batch)
    return SplitScores(log_probs=log_probabilities(model_dir, examples_dir, batch), labels=labels,
                       slice_values=slice_values)


def adjusted(log_probs: np.ndarray, tau: float, log_prior: np.ndarray) -> np.ndarray:
    """The post-hoc logit adjustment, ranked on log-probabilities: log p - tau * log pi."""
    return log_probs - tau * log_prior[None, :]


def top1_by_tau(scores: SplitScores, taus: list[float], log_prior: np.ndarray) -> dict[float, float]:
    """Top-1 accuracy over the known-class examples for each tau."""
    known = scores.labels >= 0
    labels = scores.labels[known]
    return {
        float(tau): float(np.mean(np.argmax(adjusted(scores.log_probs[known], tau, log_prior), axis=1) == labels))
        for tau in sorted(taus)
    }


def slice_metrics(ranked: np.ndarray, scores: SplitScores) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """({slice: metrics} as ModelResult.slices holds TFMA's, overall class hits rows
    [class_id, examples, hits@1, hits@3]) of the scores ``ranked`` [N, C]."""
    known = np.flatnonzero(scores.labels >= 0)
    hits = np.zeros((len(scores.labels), len(KS)), dtype=np.int64)
    for i in known:
        hits[i] = topk_hits(ranked[i], int(scores.labels[i]), KS)
    members = {"overall": known}
    for value in sorted(set(scores.slice_values[head_tail.LABEL_GROUP][known])):
        members[value] = known[scores.slice_values[head_tail.LABEL_GROUP][known] == value]
    bucket = scores.slice_values[head_tail.LABEL_FREQUENCY_BUCKET]
    for value in sorted(set(bucket[known])):
        members[f"{head_tail.LABEL_FREQUENCY_BUCKET}:{value}"] = known[bucket[known] == value]
    slices, class_hits = {}, np.zeros((0, 2 + len(KS)), dtype=np.int64)
    for name, rows in members.items():
        classes = np.unique(scores.labels[rows])
        per_class = np.array([[c, np.sum(scores.labels[rows] == c), *hits[rows][scores.labels[rows] == c].sum(axis=0)]
                              for c in classes], dtype=np.int64).reshape(-1, 2 + len(KS))
        metrics = {"example_count": float(len(rows)), "classes": float(len(classes))}
        for j, k in enumerate(KS):
            metrics[f"top{k}_accuracy"] = float(hits[rows, j].mean()) if len(rows) else float("nan")
            metrics[f"top{k}_accuracy_per_class"] = (
                float(np.mean(per_class[:, 2 + j] / per_class[:, 1])) if len(classes) else float("nan"))
        slices[name] = metrics
        if name == "overall":
            class_hits = per_class
    return slices, class_hits


def class_log_prior(model: ModelResult) -> np.ndarray:
    """[C] log of the training prior by class id (the Trainer's: counts floored at 1)."""
    return class_prior.log_prior(np.array([model.train_counts.get(label, 0) for label in model.labels], dtype=np.float64))


def split_dir(model: ModelResult, split: str) -> Path:
    """The folder of one split of the examples the model was evaluated on."""
    return Path(model.eval_examples_dir).parent / f"Split-{EVALUATION_SPLITS[split]}"


def is_rescorable(config: SicotConfig) -> bool:
    """Whether a model of ``config`` gets the re-scoring: one without a re-balancing."""
    return config.long_tail.adjustment == "none"


def check_rescorable(model: ModelResult) -> None:
    if not is_rescorable(model.config):
        raise ValueError(f"{model.variant}: already re-balanced ({model.config.long_tail.adjustment})")


def known_classes(labels: np.ndarray, model: ModelResult, validation_dir: Path) -> np.ndarray:
    """[N] whether each validation example is of a class the model knows; none is an error."""
    known = labels >= 0
    if not np.any(known):
        raise RunResultsError(f"{model.variant}, seed {model.seed}: the validation split "
                              f"({validation_dir}) has no image of a known class to choose tau on")
    return known


def rescored_result(model: ModelResult, method: str, ranked: np.ndarray, scored: SplitScores,
                    accuracy: dict[float, float], tau: float, say=None) -> ModelResult:
    """``model`` re-balanced by ``method`` at ``tau`` (chosen from the validation top-1s
    ``accuracy``), scored by ``ranked`` [N, C] on the examples of ``scored``: the variant
    ``<variant>+<method>``, with TFMA's slices and no per-image intervals."""
    slices, class_hits = slice_metrics(ranked, scored)
    name = f"{model.variant}+{method}"
    if say:
        tried = ", ".join(f"{t:g}: {100 * a:.1f}%" for t, a in accuracy.items())
        say(f"{name}, seed {model.seed}: validation top-1 by tau {tried}; tau = {tau:g}; "
            f"{model.split} top-1 {100 * slices['overall']['top1_accuracy']:.1f}%")
    config = dataclasses.replace(model.config, long_tail=dataclasses.replace(model.config.long_tail, adjustment=method))
    return dataclasses.replace(model, variant=name, config=config, slices=slices, intervals={},
                               class_hits=class_hits, blessed=None, rescored_by=method)


def rescored(model: ModelResult, say=None) -> ModelResult:
    """``model`` with the post-hoc adjustment, tau chosen on the validation split, scored
    on the model's split; variant ``<variant>+posthoc``."""
    check_rescorable(model)
    log_prior = class_log_prior(model)
    validation_dir = split_dir(model, "validation")
    validation = split_scores(model.model_dir, validation_dir)
    known_classes(validation.labels, model, validation_dir)
    accuracy = top1_by_tau(validation, list(model.config.long_tail.adjustment_taus), log_prior)
    tau = best_tau(accuracy)
    scored = validation if model.split == "validation" else split_scores(model.model_dir, split_dir(model, model.split))
    return rescored_result(model, POSTHOC, adjusted(scored.log_probs, tau, log_prior), scored, accuracy, tau, say)
