"""ManifestExampleGen: the pipeline's first node when the input is image manifests.

A TFX ExampleGen for JSON Lines / CSV manifests (components/manifest.py): it runs the
ingest graph (components/ingest_pipeline.py) on the pipeline's Beam runner (local,
Beam, Kubeflow / Dataflow), validates and encodes the images in Beam workers, keeps the
deterministic class-balanced hold-out, and writes

- ``examples``: the standard Examples artifact, splits train / validation / eval, GZIP
  TFRecords of tf.Examples (``Split-<split>/data_tfrecord-*.gz``), what
  StatisticsGen, Transform, the Trainer and the Evaluator read;
- ``ingest_report``: an ``IngestReport`` artifact, ``ingest_report.json`` with every
  rejected row (manifest, line, reason), counts per split and class; the counts are
  also custom properties of the artifact in ML Metadata.

The run fails (IngestError, the report written first) when no row is valid, when a
held-out manifest shares no label with the training one, or when the share of rejected
rows exceeds ``data.max_reject_ratio``.

Parameters: ``manifest`` (a RuntimeParameter in the compiled Kubeflow pipeline),
``eval_manifest`` and ``validation_manifest`` ('' = carved per class from the training
manifest), ``data_options`` (the ``data`` section as JSON) and ``input_fingerprint``
(a hash of the manifests and the size and time of every image they name; not read,
part of the cache key so that changed inputs are ingested again).
"""

from __future__ import annotations

import json
import os
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2

from components.ingest_pipeline import REPORT_NAME, SPLITS, run_ingest
from components.manifest_source import ManifestSource
from sicot.config import DataConfig, SicotConfig

MANIFEST_SETTINGS = {"train": "data.manifest", "eval": "data.eval_manifest", "validation": "data.validation_manifest"}


def manifest_inputs(manifests: dict[str, str | None]) -> dict[str, str]:
    """split -> "<setting> <manifest>" of each given manifest (names the input in messages)."""
    return {split: f"{MANIFEST_SETTINGS[split]} {path}" for split, path in manifests.items() if path}


class IngestReport(types.Artifact):
    """ingest_report.json: every rejected row or example and the counts per split and class."""

    TYPE_NAME = "sicot.IngestReport"


def data_options_json(options: DataConfig) -> str:
    return json.dumps(SicotConfig(data=options).to_dict()["data"], sort_keys=True)


def data_options(text: str) -> DataConfig:
    return SicotConfig.from_dict({"data": json.loads(text)}).data


def publish(examples: types.Artifact, report_artifact: types.Artifact, report: dict[str, Any]) -> None:
    """The artifacts' properties: split names, payload format, the report's counts."""
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    for key, value in report["counts"].items():
        report_artifact.set_int_custom_property(key, int(value))


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        options = data_options(exec_properties["data_options"])
        manifests = {"train": exec_properties["manifest"], "eval": exec_properties.get("eval_manifest") or None,
                     "validation": exec_properties.get("validation_manifest") or None}
        inputs = manifest_inputs(manifests)
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        report_artifact = artifact_utils.get_single_instance(output_dict["ingest_report"])
        report = run_ingest(self._make_beam_pipeline, ManifestSource.of(manifests), options, examples.uri,
                            os.path.join(report_artifact.uri, REPORT_NAME), inputs)
        publish(examples, report_artifact, report)


# The outputs of every node that makes the pipeline's examples (also ExampleScreen).
INGEST_OUTPUTS = {
    "examples": ChannelParameter(type=standard_artifacts.Examples),
    "ingest_report": ChannelParameter(type=IngestReport),
}


class ManifestExampleGenSpec(types.ComponentSpec):
    PARAMETERS = {
        "manifest": ExecutionParameter(type=str),
        "eval_manifest": ExecutionParameter(type=str, optional=True),
        "validation_manifest": ExecutionParameter(type=str, optional=True),
        "data_options": ExecutionParameter(type=str),
        "input_fingerprint": ExecutionParameter(type=str, optional=True),
        # Not read: part of the cache key, so that a change of the ingest code reruns it
        # (tfx_pipeline/code_version.py).
        "code_version": ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = INGEST_OUTPUTS


class ManifestExampleGen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = ManifestExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, manifest, options: DataConfig, input_fingerprint: str = "", code_version: str = ""):
        """manifest: the training manifest (a path, or a RuntimeParameter of type str);
        the other manifests and the hold-out settings come from options."""
        super().__init__(spec=ManifestExampleGenSpec(
            manifest=manifest,
            eval_manifest=options.eval_manifest or "",
            validation_manifest=options.validation_manifest or "",
            data_options=data_options_json(options),
            input_fingerprint=input_fingerprint,
            code_version=code_version,
            examples=types.Channel(type=standard_artifacts.Examples),
            ingest_report=types.Channel(type=IngestReport),
        ))
