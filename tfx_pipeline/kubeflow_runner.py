"""Compiles the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines (nothing runs here).

KubeflowV2DagRunner writes the pipeline as a PipelineSpec JSON whose every component
runs in ``pipeline.kubeflow_image`` (built from deploy/pipeline/Dockerfile). The
pipeline root (``pipeline.output_dir``), the manifests and the images they name must
be paths the cluster reads. The training manifest is the pipeline's runtime parameter
``manifest`` (default: ``data.manifest``), so that a daily run points at that day's
manifest without compiling again.
"""

from __future__ import annotations


from tfx import v1 as tfx

from sicot.config import SicotConfig
from tfx_pipeline.pipeline import create_pipeline

PIPELINE_JSON = "kubeflow_pipeline.json"


MANIFEST_PARAMETER = "manifest"


def manifest_parameter(config: SicotConfig) -> tfx.dsl.experimental.RuntimeParameter:
    return tfx.dsl.experimental.RuntimeParameter(name=MANIFEST_PARAMETER, ptype=str, default=config.data.manifest)


def run(config: SicotConfig) -> str:
    """Writes <pipeline.output_dir>/kubeflow_pipeline.json and returns its path. The
    output folder may be a bucket (gs://...), the usual root of a cluster's pipeline:
    the JSON is written there through TFX's file I/O, and the pipeline root and the push
    destination in it keep the URL."""
    if not config.output_is_url:
        config.output_path.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.pipeline.kubeflow_image),
        output_dir=config.output_location(),
        output_filename=PIPELINE_JSON,
    )
    runner.run(create_pipeline(config, manifest=manifest_parameter(config)),
               parameter_values={MANIFEST_PARAMETER: config.data.manifest}, write_out=True)
    return config.output_location(PIPELINE_JSON)
