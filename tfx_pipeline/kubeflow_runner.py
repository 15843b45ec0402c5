"""Compiles the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines (nothing runs here).

KubeflowV2DagRunner writes the pipeline as a PipelineSpec JSON whose every component
runs in ``pipeline.kubeflow_image`` (built from deploy/pipeline/Dockerfile). The
pipeline root and the ingested TFRecords (``pipeline.output_dir``) must be a path
the cluster reads, e.g. a bucket (``gs://...``).
"""

from __future__ import annotations

from pathlib import Path

from tfx import v1 as tfx

from sicot.config import SicotConfig
from tfx_pipeline.pipeline import create_pipeline

PIPELINE_JSON = "kubeflow_pipeline.json"


def run(config: SicotConfig, ingest_dir: str | None = None) -> Path:
    """Writes <pipeline.output_dir>/kubeflow_pipeline.json and returns its path."""
    config.output_path.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.pipeline.kubeflow_image),
        output_dir=str(config.output_path),
        output_filename=PIPELINE_JSON,
    )
    runner.run(create_pipeline(config, ingest_dir), write_out=True)
    return config.output_path / PIPELINE_JSON
