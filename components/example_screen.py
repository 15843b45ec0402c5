"""ExampleScreen: the user's own TFRecords, screened, as the pipeline's examples.

After ImportExampleGen has read the user's TFRecords (``data.examples``), this node
runs the ingest graph (components/ingest_pipeline.py) over them with
components/tfrecord_source.py: their feature names become ours, every bad example
(not a tf.Example, no image, an image that does not decode, no label, text that is not
UTF-8, an exact duplicate image) is skipped and reported with its split, file, record
index and example id, and a split the user did not give (validation, eval) is carved
per class from train like the manifest hold-out. Every component after it
(StatisticsGen, Transform, the word2vec step, the Trainer, the Evaluator) reads only
the screened examples, so no bad example reaches a step that would fail on it.

Outputs as ManifestExampleGen: ``examples`` (train / validation / eval) and
``ingest_report``; the run fails when more than ``data.max_reject_ratio`` of the
examples are skipped, or none is valid.
"""

from __future__ import annotations

import os
from typing import Any

from tfx import types
from tfx.dsl.io import fileio
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.ingest_pipeline import REPORT_NAME, run_ingest
from components.manifest_example_gen import INGEST_OUTPUTS, IngestReport, data_options, data_options_json, publish
from components.tfrecord_source import TFRecordSource
from sicot.config import DataConfig


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        options = data_options(exec_properties["data_options"])
        imported = artifact_utils.get_single_instance(input_dict["imported_examples"])
        files = []
        inputs = {}
        for split in artifact_utils.decode_split_names(imported.split_names):
            split_files = sorted(fileio.glob(os.path.join(artifact_utils.get_split_uri([imported], split), "*")))
            files += [(split, path) for path in split_files]
            inputs[split] = f"data.examples.{split} {getattr(options.examples, split)}"
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        report_artifact = artifact_utils.get_single_instance(output_dict["ingest_report"])
        source = TFRecordSource(tuple(files), options.examples)
        report = run_ingest(self._make_beam_pipeline, source, options, examples.uri,
                            os.path.join(report_artifact.uri, REPORT_NAME), inputs)
        publish(examples, report_artifact, report)


class ExampleScreenSpec(types.ComponentSpec):
    PARAMETERS = {
        "data_options": ExecutionParameter(type=str),
        # Not read: part of the cache key (tfx_pipeline/code_version.py).
        "code_version": ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {"imported_examples": ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = INGEST_OUTPUTS


class ExampleScreen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = ExampleScreenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, imported_examples: types.BaseChannel, options: DataConfig, code_version: str = ""):
        super().__init__(spec=ExampleScreenSpec(
            imported_examples=imported_examples,
            data_options=data_options_json(options),
            code_version=code_version,
            examples=types.Channel(type=standard_artifacts.Examples),
            ingest_report=types.Channel(type=IngestReport),
        ))
