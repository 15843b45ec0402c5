"""What a finished pipeline run produced, read back from ML Metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from components.ingest_pipeline import REPORT_NAME
from components.manifest_example_gen import IngestReport
from evaluation.tfma_results import read_slice_metrics
from sicot.config import SicotConfig


INGEST_REPORT_TYPE = IngestReport.TYPE_NAME
SHOWN_REJECTS = 5


@dataclasses.dataclass
class RunSummary:
    model_dir: str | None = None  # the serving model (Format-Serving), what the Pusher pushes
    evaluation_model_dir: str | None = None  # the evaluation model (Format-TFMA): title signatures
    model_run_dir: str | None = None  # the Trainer's logs: training_log.csv, classifier_rebalancing.json
    evaluation_dir: str | None = None
    blessed: bool | None = None
    blessing_rule: str | None = None  # which rule decided (TFMA thresholds, the interval rule)
    pushed_dir: str | None = None
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    slices: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    ingest_report: str | None = None  # the ingest step's report (ingest_report.json)
    ingest_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    # The first rejected rows / skipped examples: "split file:line: reason".
    ingest_rejects: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def lines(self) -> list[str]:
        out = []
        c = self.ingest_counts
        if c:
            out.append(f"ingest:         {c['rows']} rows -> {c['train']} train + {c['validation']} validation + "
                       f"{c['eval']} test examples of {c['classes']} classes, {c['rejected']} rejected or skipped")
            out += [f"  {line}" for line in self.ingest_rejects]
        for name in ("overall", "head", "tail"):
            m = self.slices.get(name)
            if m:
                out.append(
                    f"eval {name + ':':<9} top-1 {m['top1_accuracy']:.4f}, top-3 {m['top3_accuracy']:.4f} "
                    f"(per class {m['top1_accuracy_per_class']:.4f} / {m['top3_accuracy_per_class']:.4f}) "
                    f"over {int(m['example_count'])} examples"
                )
        out.append(f"blessed:        {self.blessed}" + (f" ({self.blessing_rule})" if self.blessing_rule else ""))
        out.append(f"pushed model:   {self.pushed_dir or '(not pushed)'}")
        out.append(f"trained model:  {self.model_dir}")
        out.append(f"eval model:     {self.evaluation_model_dir}")
        out.append(f"training logs:  {self.model_run_dir}")
        out.append(f"evaluation:     {self.evaluation_dir}")
        out.append(f"ingest report:  {self.ingest_report}")
        return out


def evaluation_model_dir(model_uri: str) -> str:
    """The evaluation model of a Model artifact (Format-TFMA), or its serving model when it
    has none (what TFX's Evaluator reads: tfx.utils.path_utils.eval_model_path)."""
    evaluation = Path(model_uri) / "Format-TFMA"
    return str(evaluation if (evaluation / "saved_model.pb").exists() else Path(model_uri) / "Format-Serving")


def _latest(store, type_name: str):
    artifacts = [a for a in store.get_artifacts_by_type(type_name) if a.state == 2]  # LIVE
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def slice_metrics(evaluation_uri: str) -> dict[str, dict[str, float]]:
    """TFMA's scalar metrics of the candidate, by slice name (overall, head, tail, ...)."""
    return {s.name: s.metrics for s in read_slice_metrics(evaluation_uri)}


def _store(metadata_path):
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    return metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(str(metadata_path)))


def read_ingest_report(metadata_path, store=None) -> tuple[str, dict] | None:
    """(path, contents) of the newest ingest report of a run (ManifestExampleGen's or
    ExampleScreen's IngestReport artifact), or None."""
    artifact = _latest(store or _store(metadata_path), INGEST_REPORT_TYPE)
    if artifact is None:
        return None
    path = Path(artifact.uri) / REPORT_NAME
    return str(path), json.loads(path.read_text(encoding="utf-8"))


def reject_line(reject: dict) -> str:
    """One rejected row or skipped example: "split file:line: reason (image or example id)"."""
    return (f"{reject.get('split') or 'train'} {reject['source']}:{reject['line']}: {reject['reason']}"
            + (f" ({reject['image']})" if reject.get("image") else ""))


def summarize(config: SicotConfig) -> RunSummary:
    store = _store(config.metadata_path)
    summary = RunSummary()
    ingest = read_ingest_report(config.metadata_path, store)
    if ingest is not None:
        summary.ingest_report, report = ingest
        summary.ingest_counts = report["counts"]
        summary.ingest_rejects = [reject_line(r) for r in report["rejects"][:SHOWN_REJECTS]]
        if len(report["rejects"]) > SHOWN_REJECTS:
            summary.ingest_rejects.append(f"... and {len(report['rejects']) - SHOWN_REJECTS} more (see the report)")
    model = _latest(store, "Model")
    if model is not None:
        summary.model_dir = str(Path(model.uri) / "Format-Serving")
        summary.evaluation_model_dir = evaluation_model_dir(model.uri)
    model_run = _latest(store, "ModelRun")
    if model_run is not None:
        summary.model_run_dir = model_run.uri
    evaluation = _latest(store, "ModelEvaluation")
    if evaluation is not None:
        summary.evaluation_dir = evaluation.uri
        summary.slices = slice_metrics(evaluation.uri)
        summary.metrics = summary.slices.get("overall", {})
    blessing = _latest(store, "ModelBlessing")
    if blessing is not None and "blessed" in blessing.custom_properties:
        summary.blessed = bool(blessing.custom_properties["blessed"].int_value)
        if "blessing_rule" in blessing.custom_properties:
            summary.blessing_rule = blessing.custom_properties["blessing_rule"].string_value
    pushed = _latest(store, "PushedModel")
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        summary.pushed_dir = pushed.custom_properties["pushed_destination"].string_value
    return summary


def write_summary(config: SicotConfig, summary: RunSummary) -> Path:
    path = config.output_path / "run_summary.json"
    path.write_text(json.dumps(summary.to_dict(), indent=2))
    return path
