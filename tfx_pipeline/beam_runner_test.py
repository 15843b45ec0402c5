"""The BeamDagRunner entry point: what it compiles and hands to Beam (nothing runs:
BeamDagRunner.run_with_ir, the step after TFX's own compilation, is replaced)."""

from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2

from sicot.config import load_config
from tests.tiny_catalogue import catalogue_settings
from tfx_pipeline import beam_runner

BEAM_COMPONENTS = {"ManifestExampleGen", "StatisticsGen", "Transform", "Evaluator"}


@pytest.fixture()
def handed_to_beam(monkeypatch):
    """The pipeline IRs BeamDagRunner was asked to run, with whether the output folder existed then."""
    runs = []

    def run_with_ir(self, pipeline, run_options=None, **kwargs):
        output = pipeline.runtime_spec.pipeline_root.runtime_parameter.default_value.string_value
        runs.append((pipeline, run_options, Path(output).parent.is_dir()))

    monkeypatch.setattr(BeamDagRunner, "run_with_ir", run_with_ir)
    return runs


def deployment(ir: pipeline_pb2.Pipeline) -> pipeline_pb2.IntermediateDeploymentConfig:
    config = pipeline_pb2.IntermediateDeploymentConfig()
    assert ir.deployment_config.Unpack(config)
    return config


def executor_specs(ir) -> dict:
    out = {}
    for node, spec in deployment(ir).executor_specs.items():
        if spec.Is(executable_spec_pb2.BeamExecutableSpec.DESCRIPTOR):
            beam = executable_spec_pb2.BeamExecutableSpec()
            spec.Unpack(beam)
            out[node] = ("beam", list(beam.beam_pipeline_args))
        else:
            out[node] = ("python", None)
    return out


def node_ids(ir) -> list[str]:
    return [n.pipeline_node.node_info.id for n in ir.nodes]


def parameter(ir, node: str, name: str) -> str:
    (gen,) = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node]
    return gen.parameters.parameters[name].field_value.string_value


def test_the_whole_pipeline_goes_to_beam_once_with_the_output_folder_made(tmp_path, handed_to_beam):
    out = tmp_path / "not" / "yet"
    config = load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={out}", "pipeline.name=shelf"])
    assert beam_runner.run(config) is None
    ((ir, run_options, folder_existed),) = handed_to_beam
    assert folder_existed and out.is_dir()
    assert run_options is None  # a whole run, not a partial one
    assert ir.pipeline_info.id == "shelf"
    assert ir.runtime_spec.pipeline_root.runtime_parameter.default_value.string_value == str(out / "pipeline")
    # Beam runs push: the baseline resolver and the Pusher are in.
    assert set(node_ids(ir)) == {
        "ManifestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "TitleWord2Vec",
        "SicotTrainer", "latest_blessed_model_resolver", "Evaluator", "Pusher"}
    assert parameter(ir, "ManifestExampleGen", "manifest") == str(Path(config.data.manifest).absolute())


def test_ml_metadata_is_the_sqlite_file_in_the_output_folder(tmp_path, handed_to_beam):
    beam_runner.run(load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path}"]))
    connection = metadata_store_pb2.ConnectionConfig()
    assert deployment(handed_to_beam[0][0]).metadata_connection_config.Unpack(connection)
    assert connection.sqlite.filename_uri == str(tmp_path / "metadata.sqlite")


def test_the_beam_heavy_components_get_the_pipelines_beam_args(tmp_path, handed_to_beam):
    args = ["--direct_running_mode=multi_processing", "--direct_num_workers=4"]
    config = load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path}", f"pipeline.beam_pipeline_args=[{','.join(args)}]"])
    beam_runner.run(config)
    specs = executor_specs(handed_to_beam[0][0])
    assert {node for node, (kind, _) in specs.items() if kind == "beam"} == BEAM_COMPONENTS
    assert {node: specs[node][1] for node in BEAM_COMPONENTS} == {node: args for node in BEAM_COMPONENTS}


def test_user_tfrecords_are_imported_then_screened_with_beam(tmp_path, handed_to_beam):
    beam_runner.run(load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path}",
                                       f"data.examples.train={tmp_path}/shop/train-*.tfrecord.gz"]))
    ir = handed_to_beam[0][0]
    assert "ManifestExampleGen" not in node_ids(ir)
    assert {"ImportExampleGen", "ExampleScreen"} <= set(node_ids(ir))
    assert parameter(ir, "ImportExampleGen", "input_base") == str(tmp_path / "shop")
    assert executor_specs(ir)["ExampleScreen"][0] == "beam"


def test_a_bad_configuration_fails_before_anything_is_handed_to_beam(tmp_path, handed_to_beam):
    config = load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path}", "eval.split=train"])
    with pytest.raises(ValueError, match="unknown evaluation split 'train'"):
        beam_runner.run(config)
    assert handed_to_beam == []
