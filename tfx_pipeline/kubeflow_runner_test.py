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


def test_a_trainer_cluster_on_vertex_compiles_into_the_trainer_step(tmp_path, capsys):
    settings = [f"pipeline.output_dir={tmp_path}", "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2",
                "pipeline.trainer_cluster=vertex", "pipeline.vertex_project=my-project",
                "distribute.strategy=parameter_server", "model.classifier_shards=2",
                "pipeline.vertex_workers=2", "pipeline.vertex_parameter_servers=2", *catalogue_settings(tmp_path)]
    assert main(["run", "--runner", "kubeflow", *[a for s in settings for a in ("--set", s)]]) == 0
    assert ("Trainer: a Vertex AI CustomJob in my-project (us-central1): 1 chief, 2 worker(s), "
            "2 parameter server(s)") in capsys.readouterr().out
    spec = json.loads((tmp_path / "kubeflow_pipeline.json").read_text())["pipelineSpec"]
    # The step keeps its id (and its place in the pipeline root); its executor starts the job.
    executor = spec["deploymentSpec"]["executors"]["SicotTrainer_executor"]["container"]
    args = dict(zip(executor["args"][::2], executor["args"][1::2]))
    assert args["--executor_class_path"] == "components.vertex_sicot_trainer.VertexSicotTrainerExecutor"
    trainer_task = spec["root"]["dag"]["tasks"]["SicotTrainer"]
    custom = json.loads(
        trainer_task["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    pools = custom["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
    assert [p["replica_count"] for p in pools] == [1, 2, 2]
    assert {p["container_spec"]["image_uri"] for p in pools} == {"registry.example/sicot-pipeline:1.2"}
    assert custom["ai_platform_training_args"]["project"] == "my-project"
    assert custom["ai_platform_enable_vertex"] is True
    # The replicas train with the pipeline's configuration.
    assert json.loads(custom["sicot_config"])["distribute"]["strategy"] == "parameter_server"
    assert "SicotTrainer" in spec["root"]["dag"]["tasks"]["Evaluator"]["dependentTasks"]


def test_a_vertex_cluster_the_strategy_cannot_use_is_refused(tmp_path, capsys):
    settings = [f"pipeline.output_dir={tmp_path}", "pipeline.trainer_cluster=vertex",
                "pipeline.vertex_project=my-project", "pipeline.vertex_workers=2"]
    assert main(["run", "--runner", "kubeflow", *[a for s in settings for a in ("--set", s)]]) == 2
    assert "needs distribute.strategy multi_worker_mirrored or parameter_server" in capsys.readouterr().err
    assert not (tmp_path / "kubeflow_pipeline.json").exists()


def test_a_trainer_cluster_as_a_tfjob_compiles_into_the_trainer_step(tmp_path, capsys):
    settings = [f"pipeline.output_dir={tmp_path}", "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2",
                "pipeline.trainer_cluster=tfjob", "pipeline.tfjob_namespace=team-a",
                "distribute.strategy=multi_worker_mirrored", "pipeline.tfjob_workers=3", "pipeline.tfjob_gpus=1",
                *catalogue_settings(tmp_path)]
    assert main(["run", "--runner", "kubeflow", *[a for s in settings for a in ("--set", s)]]) == 0
    assert ("Trainer: a Kubeflow TFJob in team-a: 1 chief, 3 worker(s), 0 parameter server(s); 4 CPU, 16Gi, "
            "1 GPU(s) each on the chief and workers") in capsys.readouterr().out
    spec = json.loads((tmp_path / "kubeflow_pipeline.json").read_text())["pipelineSpec"]
    executor = spec["deploymentSpec"]["executors"]["SicotTrainer_executor"]["container"]
    args = dict(zip(executor["args"][::2], executor["args"][1::2]))
    assert args["--executor_class_path"] == "components.tfjob_sicot_trainer.TFJobSicotTrainerExecutor"
    trainer_task = spec["root"]["dag"]["tasks"]["SicotTrainer"]
    custom = json.loads(
        trainer_task["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    job = custom["sicot_tfjob"]["manifest"]
    assert job["kind"] == "TFJob" and job["metadata"]["namespace"] == "team-a"
    assert {k: r["replicas"] for k, r in job["spec"]["tfReplicaSpecs"].items()} == {"Chief": 1, "Worker": 3}
    images = {c["image"] for r in job["spec"]["tfReplicaSpecs"].values() for c in r["template"]["spec"]["containers"]}
    assert images == {"registry.example/sicot-pipeline:1.2"}
    assert json.loads(custom["sicot_config"])["distribute"]["strategy"] == "multi_worker_mirrored"
    assert "SicotTrainer" in spec["root"]["dag"]["tasks"]["Evaluator"]["dependentTasks"]


def test_a_pipeline_root_in_a_bucket_keeps_its_url(tmp_path, capsys, monkeypatch):
    """pipeline.output_dir=gs://... (TensorFlow's in-memory file system stands in for the
    bucket): the JSON is written there, and its pipeline root, the push destination and
    the Trainer's backup folder keep the URL; nothing goes to a local folder 'gs:'."""
    import tensorflow as tf

    monkeypatch.chdir(tmp_path)
    root = "ram://shop-bucket/sicot"
    settings = [f"pipeline.output_dir={root}", "pipeline.kubeflow_image=registry.example/sicot-pipeline:1.2",
                *catalogue_settings(tmp_path)]
    assert main(["run", "--runner", "kubeflow", *[a for s in settings for a in ("--set", s)]]) == 0
    assert f"{root}/kubeflow_pipeline.json" in capsys.readouterr().out
    with tf.io.gfile.GFile(f"{root}/kubeflow_pipeline.json") as f:
        compiled = json.loads(f.read())
    assert compiled["runtimeConfig"]["gcsOutputDirectory"] == f"{root}/pipeline"
    pusher = json.dumps(compiled["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]["inputs"]["parameters"])
    assert f"{root}/serving/sicot" in pusher
    assert load_config(None, settings).train_backup_dir.startswith(f"{root}/train_backup/")
    assert not any(p.name.startswith("ram:") for p in tmp_path.iterdir())


def test_the_local_runners_refuse_a_bucket_as_the_output_folder(capsys):
    assert main(["run", "--set", "pipeline.output_dir=gs://shop-bucket/sicot"]) == 2
    assert ("pipeline.output_dir gs://shop-bucket/sicot is a bucket: the local runner keeps ML Metadata"
            in capsys.readouterr().err)
