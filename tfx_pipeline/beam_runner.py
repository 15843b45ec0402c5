"""Runs the pipeline with TFX's BeamDagRunner: the DAG itself is a Beam pipeline.

The Beam-heavy components (ManifestExampleGen, StatisticsGen, Transform, Evaluator) run
their own Beam pipelines with ``pipeline.beam_pipeline_args``: locally the
DirectRunner (``--direct_running_mode=multi_processing --direct_num_workers=N``), or
Flink, Spark or Dataflow options (see README, "Scaling past one device").
"""

from __future__ import annotations

from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

from sicot.config import SicotConfig
from tfx_pipeline.pipeline import create_pipeline


def run(config: SicotConfig) -> None:
    config.output_path.mkdir(parents=True, exist_ok=True)
    BeamDagRunner().run(create_pipeline(config))
