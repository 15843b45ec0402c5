"""models.config and the deployment files: exactly what TF Serving needs to load a push."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serving.tf_serving_config import (
    BATCHING_PARAMETERS_NAME,
    CANARY,
    STABLE,
    TEXT_OPS,
    promote,
    read_models_config,
    roll_back,
    roll_out,
    write_models_config,
)
from sicot.config import ServiceConfig

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _push(root: Path, version: int) -> None:
    folder = root / "sicot" / str(version)
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")


def _served(root: Path) -> tuple[list[int], dict[str, int]]:
    (model,) = read_models_config(root / "models.config").model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("sicot", "/models/sicot", "tensorflow")
    return list(model.model_version_policy.specific.versions), dict(model.version_labels)


def test_a_push_rolls_out_as_canary_beside_stable_then_promote_or_rollback(tmp_path):
    _push(tmp_path, 10)
    assert roll_out(tmp_path, "sicot") == {STABLE: 10}
    assert _served(tmp_path) == ([10], {STABLE: 10})
    _push(tmp_path, 20)
    roll_out(tmp_path, "sicot")
    assert _served(tmp_path) == ([10, 20], {STABLE: 10, CANARY: 20})
    assert roll_back(tmp_path, "sicot") == {STABLE: 10}
    assert _served(tmp_path) == ([10], {STABLE: 10})
    _push(tmp_path, 30)
    roll_out(tmp_path, "sicot")
    assert _served(tmp_path) == ([10, 30], {STABLE: 10, CANARY: 30})
    roll_out(tmp_path, "sicot")  # nothing new: no change
    assert promote(tmp_path, "sicot") == {STABLE: 30}
    assert _served(tmp_path) == ([30], {STABLE: 30})
    with pytest.raises(ValueError, match="no canary version to promote"):
        promote(tmp_path, "sicot")


def _batching_parameters_type():
    """TF Serving's BatchingParameters (tensorflow_serving/servables/tensorflow/
    session_bundle_config.proto), which tensorflow-serving-api does not ship."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(name="batching.proto", package="tensorflow.serving",
                                               dependency=["google/protobuf/wrappers.proto"], syntax="proto3")
    message = proto.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind, type_name) in enumerate([
        ("max_batch_size", F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
        ("batch_timeout_micros", F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
        ("max_enqueued_batches", F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
        ("num_batch_threads", F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
        ("thread_pool_name", F.TYPE_MESSAGE, ".google.protobuf.StringValue"),
    ], start=1):
        message.field.add(name=name, number=number, type=kind, type_name=type_name, label=F.LABEL_OPTIONAL)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


def test_batching_parameters_file_is_a_batching_parameters_proto(tmp_path):
    from google.protobuf import text_format

    write_models_config(tmp_path, {"sicot": {STABLE: 1}})
    parameters = text_format.Parse((tmp_path / BATCHING_PARAMETERS_NAME).read_text(), _batching_parameters_type()())
    assert (parameters.max_batch_size.value, parameters.batch_timeout_micros.value) == (32, 2000)
    assert parameters.num_batch_threads.value >= 1 and parameters.max_enqueued_batches.value > 0


def test_sicot_run_writes_models_config_beside_the_versioned_folders(tiny_run_dir):
    serving = tiny_run_dir / "serving"
    (model,) = read_models_config(serving / "models.config").model_config_list.config
    # Mounted at /models in the container, base_path names the folder the Pusher wrote.
    versions = [p for p in (serving / Path(model.base_path).relative_to("/models")).iterdir()]
    assert versions and all(p.name.isdigit() and (p / "saved_model.pb").exists() for p in versions)
    assert dict(model.version_labels) == {STABLE: int(versions[0].name)}
    assert (serving / BATCHING_PARAMETERS_NAME).exists()
    assert (tiny_run_dir / "product_index.sqlite").exists()


def _tf_serving_version() -> str:
    from importlib.metadata import version

    return version("tensorflow-serving-api")


def test_compose_file_runs_the_official_image_on_models_config():
    compose = yaml.safe_load((DEPLOY / "tf-serving/docker-compose.yaml").read_text())
    service = compose["services"]["tf-serving"]
    assert service["image"] == f"tensorflow/serving:{_tf_serving_version()}"
    flags = service["entrypoint"]
    assert flags[0] == "/usr/bin/tensorflow_model_server"
    assert "--model_config_file=/models/models.config" in flags
    assert f"--batching_parameters_file=/models/{BATCHING_PARAMETERS_NAME}" in flags
    assert "--allow_version_labels_for_unavailable_models=true" in flags
    grpc_port = ServiceConfig().tf_serving_address.rsplit(":", 1)[1]
    assert f"--port={grpc_port}" in flags and f"{grpc_port}:{grpc_port}" in service["ports"]
    assert any(v.endswith(":/models:ro") for v in service["volumes"])


def test_dockerfile_and_kubernetes_manifest_agree():
    dockerfile = (DEPLOY / "tf-serving/Dockerfile").read_text()
    assert f"FROM tensorflow/serving:{_tf_serving_version()}\n" in dockerfile
    assert '"--model_config_file=/models/models.config"' in dockerfile and "COPY . /models/" in dockerfile
    deployment, service = yaml.safe_load_all((DEPLOY / "k8s/tf-serving.yaml").read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "sicot-tf-serving:latest"  # the image the Dockerfile builds
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/sicot"
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert {p["port"] for p in service["spec"]["ports"]} == {8500, 8501}


def test_the_signature_defs_tf_serving_reads(pushed_model_dir):
    """What `saved_model_cli show --all` prints and TF Serving serves: the MetaGraph's signature_defs."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.python.tools import saved_model_utils

    signatures = saved_model_utils.get_meta_graph_def(str(pushed_model_dir), "serve").signature_def

    def shape(info):
        return [d.size for d in info.tensor_shape.dim]

    serving = signatures["serving_default"]
    assert serving.method_name == "tensorflow/serving/predict"
    assert list(serving.inputs) == ["images"] and serving.inputs["images"].dtype == types_pb2.DT_STRING
    assert shape(serving.inputs["images"]) == [-1]
    top_k = 3  # the tiny run's serving.top_k
    assert {k: (v.dtype, shape(v)) for k, v in serving.outputs.items()} == {
        "labels": (types_pb2.DT_STRING, [-1, top_k]),
        "scores": (types_pb2.DT_FLOAT, [-1, top_k]),
        "class_ids": (types_pb2.DT_INT64, [-1, top_k]),
    }
    examples = signatures["predict_examples"]
    assert list(examples.inputs) == ["examples"] and examples.inputs["examples"].dtype == types_pb2.DT_STRING
    assert shape(examples.outputs["probabilities"]) == [-1, 4]


def _fresh_interpreter(script: str, *args: str) -> str:
    """stdout of a Python process that never imports tensorflow_text (this one has)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3"),
    ).stdout.strip().splitlines()[-1]


def test_the_pushed_model_has_core_tensorflow_ops_only(pushed_model_dir, tiny_run_dir):
    """Every op of every function of the pushed model is registered in a TensorFlow
    without TensorFlow Text; the evaluation model's title signatures are what need it."""
    script = (
        "import json, sys; from serving.tf_serving_config import non_core_ops; "
        "print(json.dumps([sorted(non_core_ops(p)) for p in sys.argv[1:]]))"
    )
    evaluation = Path(json.loads((tiny_run_dir / "run_summary.json").read_text())["evaluation_model_dir"])
    pushed_ops, evaluation_ops = json.loads(
        _fresh_interpreter(script, str(pushed_model_dir / "saved_model.pb"), str(evaluation / "saved_model.pb")))
    assert pushed_ops == []
    assert set(evaluation_ops) == TEXT_OPS  # the check finds them where they are


def test_a_runtime_without_tensorflow_text_serves_the_same_top_k(pushed_model_dir, tiny_run_dir):
    import numpy as np
    import tensorflow as tf

    from tests.tiny_catalogue import COLOURS, png_bytes

    images = [png_bytes(COLOURS[c], size=(30, 17), noise=3) for c in ("red", "green", "blue", "yellow")]
    images_file = tiny_run_dir.parent / "images.npy"
    np.save(images_file, np.array(images, dtype=object), allow_pickle=True)
    script = (
        "import json, sys; import numpy as np; import tensorflow as tf; "
        "model = tf.saved_model.load(sys.argv[1]); "
        "out = model.signatures['serving_default'](images=tf.constant(list(np.load(sys.argv[2], allow_pickle=True)))); "
        "assert 'tensorflow_text' not in sys.modules; "
        "print(json.dumps({k: v.numpy().tolist() for k, v in out.items() if k != 'labels'}))"
    )
    served = json.loads(_fresh_interpreter(script, str(pushed_model_dir), str(images_file)))
    evaluation = tf.saved_model.load(json.loads((tiny_run_dir / "run_summary.json").read_text())["evaluation_model_dir"])
    expected = evaluation.signatures["serving_default"](images=tf.constant(images))
    assert served["class_ids"] == expected["class_ids"].numpy().tolist()
    np.testing.assert_allclose(served["scores"], expected["scores"].numpy(), rtol=1e-5)


def test_saved_model_cli_runs_the_pushed_model(pushed_model_dir, tmp_path):
    """The command a user tries first: saved_model_cli run on the pushed folder."""
    import numpy as np

    from tests.tiny_catalogue import COLOURS, png_bytes

    np.save(tmp_path / "imgs.npy", np.array([png_bytes(COLOURS["red"])], dtype=object), allow_pickle=True)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "saved_model_cli"), "run", "--dir", str(pushed_model_dir),
         "--tag_set", "serve", "--signature_def", "serving_default", "--inputs", f"images={tmp_path / 'imgs.npy'}"],
        capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Result for output key labels" in out.stdout and "b'red'" in out.stdout
