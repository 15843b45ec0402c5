"""What a finished pipeline run produced, read back from ML Metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sicot.config import SicotConfig


@dataclasses.dataclass
class RunSummary:
    model_dir: str | None = None
    evaluation_dir: str | None = None
    blessed: bool | None = None
    pushed_dir: str | None = None
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    ingest_report: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def lines(self) -> list[str]:
        out = []
        if self.metrics:
            out.append(
                "eval accuracy: "
                + ", ".join(f"{k} {v:.4f}" for k, v in sorted(self.metrics.items()) if k != "example_count")
                + (f" over {int(self.metrics['example_count'])} examples" if "example_count" in self.metrics else "")
            )
        out.append(f"blessed:        {self.blessed}")
        out.append(f"pushed model:   {self.pushed_dir or '(not pushed)'}")
        out.append(f"trained model:  {self.model_dir}")
        out.append(f"evaluation:     {self.evaluation_dir}")
        out.append(f"ingest report:  {self.ingest_report}")
        return out


def _latest(store, type_name: str):
    artifacts = [a for a in store.get_artifacts_by_type(type_name) if a.state == 2]  # LIVE
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def overall_metrics(evaluation_uri: str) -> dict[str, float]:
    import tensorflow_model_analysis as tfma

    metrics = {}
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for kv in slice_metrics.metric_keys_and_values:
            if kv.value.HasField("double_value"):
                metrics[kv.key.name] = kv.value.double_value.value
    return metrics


def summarize(config: SicotConfig) -> RunSummary:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(config.metadata_path))
    )
    summary = RunSummary()
    report = config.ingest_dir / "ingest_report.json"
    summary.ingest_report = str(report) if report.exists() else None
    model = _latest(store, "Model")
    if model is not None:
        summary.model_dir = str(Path(model.uri) / "Format-Serving")
    evaluation = _latest(store, "ModelEvaluation")
    if evaluation is not None:
        summary.evaluation_dir = evaluation.uri
        summary.metrics = overall_metrics(evaluation.uri)
    blessing = _latest(store, "ModelBlessing")
    if blessing is not None and "blessed" in blessing.custom_properties:
        summary.blessed = bool(blessing.custom_properties["blessed"].int_value)
    pushed = _latest(store, "PushedModel")
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        summary.pushed_dir = pushed.custom_properties["pushed_destination"].string_value
    return summary


def write_summary(config: SicotConfig, summary: RunSummary) -> Path:
    path = config.output_path / "run_summary.json"
    path.write_text(json.dumps(summary.to_dict(), indent=2))
    return path
