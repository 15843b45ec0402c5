"""Runs the pipeline with TFX's LocalDagRunner (Beam DirectRunner, SQLite ML Metadata)."""

from __future__ import annotations

from tfx import v1 as tfx

from sicot.config import SicotConfig
from tfx_pipeline.pipeline import create_pipeline


def run(config: SicotConfig, push: bool = True) -> None:
    config.output_path.mkdir(parents=True, exist_ok=True)
    tfx.orchestration.LocalDagRunner().run(create_pipeline(config, push=push))
