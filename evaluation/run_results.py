"""The evaluated models of a run folder, read back from ML Metadata and TFMA's output.

Every completed (or cached) Evaluator execution in ``metadata.sqlite`` gives one
``ModelResult``: which model it evaluated, the configuration the Trainer trained it
with (read from the Trainer execution's ``custom_config``), TFMA's metrics per slice,
the per-class hit table, the blessing, and the artifacts a report needs (the
SavedModel, the Transform graph with the label vocabulary and training counts, the
eval examples). Nothing is retrained or re-evaluated.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from evaluation.run_summary import evaluation_model_dir
from evaluation.tfma_results import read_slice_metrics
from models import features
from models.custom_config import decode_execution_property
from models.preprocessing import read_label_frequencies
from sicot.config import SEMANTIC_STREAM_SETTINGS, SicotConfig
from tfx_pipeline.eval_config import EVALUATION_SPLITS

_COMPLETE, _CACHED = 3, 5
_INPUT, _OUTPUT = 3, 4
# The visual-only model's variant name (co-trained ones are "sicot-<title encoder>"),
# either followed by its long-tail methods ("baseline+logit_adjusted+posthoc").
BASELINE = "baseline"
# Settings that make one compared model differ from another; the rest must be equal.
VARIANT_SETTINGS = (
    ("model", "co_training"), ("model", "title_encoder"), ("train", "seed"),
    ("long_tail", "loss"), ("long_tail", "adjustment"),
)


class RunResultsError(RuntimeError):
    """A run folder without what a report needs."""


@dataclasses.dataclass
class ModelResult:
    variant: str
    seed: int
    config_hash: str
    config: SicotConfig
    execution_id: int
    split: str  # the scored split: test or validation
    model_dir: str  # the evaluation model (Format-TFMA): every signature, titles included
    evaluation_dir: str
    transform_dir: str
    eval_examples_dir: str
    blessed: bool | None
    slices: dict[str, dict[str, float]]
    intervals: dict[str, dict[str, tuple[float, float]]]  # TFMA's 95% interval, by slice and metric
    class_hits: np.ndarray  # overall slice: [class_id, examples, hits@1, hits@3]
    labels: list[str]  # the label vocabulary: class id -> label
    train_counts: dict[str, int]  # label -> training images
    # The results archive it was read back from (evaluation/results_archive.py); then
    # model_dir and the other folders are empty: the model is not on this machine.
    archived_from: str = ""
    # The re-scoring that made this result from a trained model without retraining it
    # (evaluation/rescoring.py: "posthoc", "ncm", ...); "" for a trained model.
    rescored_by: str = ""

    @property
    def archived(self) -> bool:
        """Read back from a results archive: no SavedModel, no TFMA output here."""
        return bool(self.archived_from)

    @property
    def co_trained(self) -> bool:
        return self.config.model.co_training


def variant_of(config: SicotConfig) -> str:
    """``baseline`` (visual only) or ``sicot-<title encoder>``, then ``+<loss>`` and
    ``+<adjustment>`` of the long-tail methods it uses."""
    name = f"sicot-{config.model.title_encoder}" if config.model.co_training else BASELINE
    if config.long_tail.loss != "softmax":
        name += f"+{config.long_tail.loss}"
    if config.long_tail.adjustment != "none":
        name += f"+{config.long_tail.adjustment}"
    return name


def long_tail_suffix(variant: str) -> str:
    """'sicot-mean+logit_adjusted' -> '+logit_adjusted' ('' for none)."""
    head, _, rest = variant.partition("+")
    return f"+{rest}" if rest else ""


def is_visual_only(variant: str) -> bool:
    return variant.partition("+")[0] == BASELINE


def shared_config_hash(config: SicotConfig) -> str:
    """A hash of the settings that compared models must share (all but VARIANT_SETTINGS,
    the semantic stream's own settings, the comparison's own settings and where the run
    lives)."""
    tree = config.to_dict()
    for section, key in VARIANT_SETTINGS:
        tree[section].pop(key)
    for path in SEMANTIC_STREAM_SETTINGS:
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        parent.pop(path[-1], None)
    tree.pop("compare")
    tree.pop("pipeline")
    return SicotConfig.from_dict(tree).fingerprint()


def metadata_path_of(run_dir: str | Path) -> Path:
    """The ML Metadata file of a run folder (``sicot run``) or of its comparison."""
    run_dir = Path(run_dir)
    for candidate in (run_dir / "metadata.sqlite", run_dir / "compare" / "metadata.sqlite"):
        if candidate.exists():
            return candidate
    raise RunResultsError(f"no ML Metadata (metadata.sqlite) in {run_dir} or {run_dir / 'compare'}")


def _store(metadata_path: Path):
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    return metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(str(metadata_path)))


def _linked(store, execution_id: int, event_type: int) -> dict[str, list]:
    """Artifacts an execution read (INPUT) or wrote (OUTPUT), by channel key."""
    events = [e for e in store.get_events_by_execution_ids([execution_id]) if e.type == event_type]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    out: dict[str, list] = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        out.setdefault(key, []).append(artifacts[event.artifact_id])
    return out


def _producer(store, artifact_id: int):
    events = [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type == _OUTPUT]
    if not events:
        return None
    return store.get_executions_by_id([events[0].execution_id])[0]


def _scored_split(evaluator) -> tuple[str, str]:
    """(split name, example split) an Evaluator execution scored: ("test", "eval")..."""
    raw = evaluator.properties.get("example_splits") or evaluator.custom_properties.get("example_splits")
    example_splits = json.loads(raw.string_value) if raw is not None and raw.string_value else ["eval"]
    names = {v: k for k, v in EVALUATION_SPLITS.items()}
    return names.get(example_splits[0], example_splits[0]), example_splits[0]


def _trainer_config(execution) -> SicotConfig:
    raw = execution.custom_properties["custom_config"].string_value
    return decode_execution_property(raw)


def label_vocabulary(transform_dir: str) -> tuple[list[str], dict[str, int]]:
    """The label vocabulary (class id order) and the training count of each label."""
    import tensorflow_transform as tft

    output = tft.TFTransformOutput(transform_dir)
    labels = [v.decode("utf-8") for v in output.vocabulary_by_name(features.LABEL_VOCABULARY)]
    return labels, read_label_frequencies(output)


def collect_model_results(metadata_path: str | Path) -> list[ModelResult]:
    """Every evaluated model of the run, oldest evaluation first."""
    vocabularies: dict[str, tuple[list[str], dict[str, int]]] = {}
    store = _store(Path(metadata_path))
    executions = [
        e
        for t in store.get_execution_types()
        if t.name.split(".")[-1] == "Evaluator"
        for e in store.get_executions_by_type(t.name)
        if e.last_known_state in (_COMPLETE, _CACHED)
    ]
    results = []
    for execution in sorted(executions, key=lambda e: e.id):
        inputs, outputs = _linked(store, execution.id, _INPUT), _linked(store, execution.id, _OUTPUT)
        if not outputs.get("evaluation") or not inputs.get("model"):
            continue
        model = inputs["model"][0]
        trainer = _producer(store, model.id)
        if trainer is None or "custom_config" not in trainer.custom_properties:
            continue
        config = _trainer_config(trainer)
        transform_graph = _linked(store, trainer.id, _INPUT)["transform_graph"][0]
        if transform_graph.uri not in vocabularies:
            vocabularies[transform_graph.uri] = label_vocabulary(transform_graph.uri)
        labels, train_counts = vocabularies[transform_graph.uri]
        evaluation_dir = outputs["evaluation"][0].uri
        slices, intervals, hits = {}, {}, np.zeros((0, 4), dtype=np.int64)
        for s in read_slice_metrics(evaluation_dir):
            row = dict(s.metrics)
            intervals[s.name] = dict(s.intervals)
            if s.class_hits is not None:
                row["classes"] = float(len(s.class_hits))
                if not s.slice_key:
                    hits = s.class_hits
            slices[s.name] = row
        split, example_split = _scored_split(execution)
        blessing = outputs.get("blessing")
        blessed = None
        if blessing and "blessed" in blessing[0].custom_properties:
            blessed = bool(blessing[0].custom_properties["blessed"].int_value)
        results.append(
            ModelResult(
                variant=variant_of(config),
                seed=config.train.seed,
                config_hash=shared_config_hash(config),
                config=config,
                execution_id=execution.id,
                split=split,
                model_dir=evaluation_model_dir(model.uri),
                evaluation_dir=evaluation_dir,
                transform_dir=transform_graph.uri,
                eval_examples_dir=str(Path(inputs["examples"][0].uri) / f"Split-{example_split}"),
                blessed=blessed,
                slices=slices,
                intervals=intervals,
                class_hits=hits,
                labels=labels,
                train_counts=train_counts,
            )
        )
    return results


def co_training_settings(config: SicotConfig) -> str:
    """The semantic stream's settings that no variant name carries (all of
    SEMANTIC_STREAM_SETTINGS but the title encoder), as one comparable string."""
    tree = config.to_dict()
    picked = []
    for path in SEMANTIC_STREAM_SETTINGS:
        if path == ("model", "title_encoder"):
            continue
        value = tree
        for key in path:
            value = value[key]
        picked.append([list(path), value])
    return json.dumps(picked, sort_keys=True)


class Comparison(NamedTuple):
    """Which evaluated models form one comparison: those trained with these shared
    settings (``shared_config_hash``) and scored on this split, the co-trained ones also
    with these semantic stream settings (``co_training_settings``; None: those of the
    newest co-trained model among them)."""

    config_hash: str
    split: str
    co_training: str | None = None

    def takes(self, model: ModelResult) -> bool:
        """Whether ``model`` is one of this comparison's models (any semantic stream
        settings when ``co_training`` is None)."""
        return ((model.config_hash, model.split) == (self.config_hash, self.split)
                and (not model.co_trained or self.co_training is None
                     or co_training_settings(model.config) == self.co_training))


def latest_comparison(results: list[ModelResult], wanted: tuple | None = None) -> list[ModelResult]:
    """The models trained with the newest evaluation's shared settings and scored on its
    split, co-trained ones also with the newest co-trained model's semantic stream
    settings (a one-seed screening of another setting, kept in the same ML Metadata,
    is not one of the compared models: its variant name does not say how it differs);
    the newest evaluation of each (variant, seed); baseline first, then by variant and
    seed. ``wanted``: the ``Comparison`` to take instead (a plan's: evaluation/compare.py
    ``planned_comparison``), or its first two fields (shared settings hash, split). A
    plan names its semantic stream settings: the newest co-trained model may be another
    plan's (a screening of lambda archived beside it, a folder where another setting
    trained later), and the variant name does not tell them apart."""
    if not results:
        raise RunResultsError("no completed Evaluator execution in this run's ML Metadata")
    wanted = Comparison(*wanted) if wanted else Comparison(results[-1].config_hash, results[-1].split)
    candidates = [r for r in results if (r.config_hash, r.split) == wanted[:2]]
    if not candidates:
        raise RunResultsError(f"no evaluated model of the planned comparison (settings {wanted.config_hash}, "
                              f"{wanted.split} split) in this run's ML Metadata or its results archives")
    co_trained = [r for r in candidates if r.co_trained]
    if wanted.co_training is None and co_trained:
        wanted = wanted._replace(co_training=co_training_settings(co_trained[-1].config))
    latest: dict[tuple[str, int], ModelResult] = {}
    for r in candidates:
        if wanted.takes(r):
            latest[(r.variant, r.seed)] = r
    return sorted(latest.values(), key=lambda r: (r.variant != BASELINE, r.variant, r.seed))
