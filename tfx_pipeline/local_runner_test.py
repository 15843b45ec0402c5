"""The LocalDagRunner entry point (`sicot run`, and `sicot compare` with push=False):
what it compiles and hands to LocalDagRunner (nothing runs: run_with_ir is replaced)."""

from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.proto.orchestration import pipeline_pb2

from sicot.config import load_config
from tests.tiny_catalogue import catalogue_settings
from tfx_pipeline import local_runner

UPSTREAM = {"ManifestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "TitleWord2Vec",
            "SicotTrainer", "Evaluator"}


@pytest.fixture()
def handed_over(monkeypatch):
    """The pipeline IRs LocalDagRunner was asked to run, with whether the output folder existed then."""
    runs = []

    def run_with_ir(self, pipeline, run_options=None):
        root = Path(pipeline.runtime_spec.pipeline_root.runtime_parameter.default_value.string_value)
        runs.append((pipeline, run_options, root.parent.is_dir()))

    monkeypatch.setattr(LocalDagRunner, "run_with_ir", run_with_ir)
    return runs


def node(ir, node_id):
    (found,) = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    return found


def node_ids(ir) -> set[str]:
    return {n.pipeline_node.node_info.id for n in ir.nodes}


def test_a_run_pushes_and_keeps_ml_metadata_in_the_output_folder(tmp_path, handed_over):
    out = tmp_path / "new" / "run"
    local_runner.run(load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={out}"]))
    ((ir, run_options, folder_existed),) = handed_over
    assert folder_existed and out.is_dir()
    assert run_options is None
    assert node_ids(ir) == UPSTREAM | {"latest_blessed_model_resolver", "Pusher"}
    config = load_config(None, catalogue_settings(tmp_path))
    assert node(ir, "ManifestExampleGen").parameters.parameters["manifest"].field_value.string_value == str(
        Path(config.data.manifest).absolute())
    deployment = pipeline_pb2.IntermediateDeploymentConfig()
    assert ir.deployment_config.Unpack(deployment)
    connection = metadata_store_pb2.ConnectionConfig()
    assert deployment.metadata_connection_config.Unpack(connection)
    assert connection.sqlite.filename_uri == str(out / "metadata.sqlite")
    assert ir.runtime_spec.pipeline_root.runtime_parameter.default_value.string_value == str(out / "pipeline")


def test_a_comparison_run_pushes_nothing(tmp_path, handed_over):
    # evaluation/compare.py: local_runner.run(variant_config, push=False)
    local_runner.run(load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path}/variant"]), push=False)
    ((ir, _, _),) = handed_over
    assert node_ids(ir) == UPSTREAM
    # The Evaluator has no baseline to read.
    assert "baseline_model" not in node(ir, "Evaluator").inputs.inputs


def test_each_run_is_its_own_pipeline(tmp_path, handed_over):
    for name in ("first", "second"):
        local_runner.run(load_config(None, [*catalogue_settings(tmp_path), f"pipeline.output_dir={tmp_path / name}", f"pipeline.name={name}"]))
    assert [ir.pipeline_info.id for ir, _, _ in handed_over] == ["first", "second"]
    assert [ir.runtime_spec.pipeline_root.runtime_parameter.default_value.string_value for ir, _, _ in handed_over] \
        == [str(tmp_path / "first" / "pipeline"), str(tmp_path / "second" / "pipeline")]
