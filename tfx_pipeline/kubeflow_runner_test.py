import json

from cli.main import main
from sicot.config import load_config
from tests.tiny_catalogue import catalogue_settings
from tfx_pipeline.pipeline import create_pipeline


def test_kubeflow_compiles_every_component_with_the_configured_image(tmp_path, capsys):
    settings = [f"pipeline.output_dir={tmp_path}", "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2",
                *catalogue_settings(tmp_path)]
    assert main(["run", "--runner", "kubeflow", *[a for s in settings for a in ("--set", s)]]) == 0
    path = tmp_path / "kubeflow_pipeline.json"
    assert str(path) in capsys.readouterr().out
    spec = json.loads(path.read_text())["pipelineSpec"]
    nodes = {c.id for c in create_pipeline(load_config(None, settings)).components}
    assert {"ManifestExampleGen", "Transform", "TitleWord2Vec", "SicotTrainer", "Evaluator", "Pusher"} <= nodes
    # The latest-blessed-model resolver compiles to two KFP resolver tasks (model, blessing).
    resolver = "latest_blessed_model_resolver"
    assert resolver in nodes
    components = nodes - {resolver}
    assert set(spec["root"]["dag"]["tasks"]) == components | {
        f"{resolver}-model-resolver", f"{resolver}-model-blessing-resolver"}
    images = {name: e["container"]["image"] for name, e in spec["deploymentSpec"]["executors"].items()
              if "container" in e}
    assert {name.removesuffix("_executor") for name in images} == components
    assert set(images.values()) == {"registry.example/sicot-pipeline:1.2"}
    # Nothing ran: no ingest, no pipeline root.
    assert not (tmp_path / "ingest").exists() and not (tmp_path / "pipeline").exists()
    # The pipeline starts with the manifest ExampleGen, whose manifest is a runtime
    # parameter (default data.manifest) that a run may set.
    config = load_config(None, settings)
    assert spec["root"]["inputDefinitions"]["parameters"]["manifest"] == {"type": "STRING"}
    runtime = json.loads(path.read_text())["runtimeConfig"]["parameters"]
    assert runtime["manifest"] == {"stringValue": config.data.manifest}
    gen = spec["root"]["dag"]["tasks"]["ManifestExampleGen"]
    assert gen["inputs"]["parameters"]["manifest"] == {"componentInputParameter": "manifest"}
    first = [name for name, task in spec["root"]["dag"]["tasks"].items() if not task.get("dependentTasks")]
    assert "ManifestExampleGen" in first
    assert spec["root"]["dag"]["tasks"]["StatisticsGen"]["dependentTasks"] == ["ManifestExampleGen"]


def test_unknown_runner_is_refused(capsys):
    assert main(["run", "--set", "pipeline.runner=airflow"]) == 2
    assert "unknown pipeline.runner 'airflow'" in capsys.readouterr().err
