"""The service's two model backends answer alike; an unreachable TF Serving is a clear 503."""

import shutil

import httpx
import tensorflow as tf
import pytest

from serving.app import create_app
from tests.background_server import free_port, serve_in_background
from tests.local_prediction_server import start_prediction_server
from serving.recognition_backend import TFServingBackend, backend_from_config, latest_version_dir
from serving.rest_client import RecognitionClient, ServiceError
from sicot.config import load_config
from tests.tiny_catalogue import COLOURS, png_bytes

IMAGES = [png_bytes(COLOURS[c], size=(20, 14)) for c in ("blue", "red", "yellow")]


@pytest.fixture(scope="module")
def tf_serving_address(tiny_run_dir):
    server, address = start_prediction_server(tiny_run_dir / "serving")
    yield address
    server.stop(0)


def test_service_over_tf_serving_grpc_answers_like_the_in_process_model(
    tf_serving_address, saved_model_backend, run_index
):
    grpc_backend = TFServingBackend(tf_serving_address, "sicot", timeout_s=30)
    with serve_in_background(create_app(saved_model_backend, run_index)) as local, \
            serve_in_background(create_app(grpc_backend, run_index)) as remote:
        for image in IMAGES:
            a, b = RecognitionClient(local).recognize(image), RecognitionClient(remote).recognize(image)
            assert a["model_version"] == b["model_version"]
            assert [r["sku"] for r in a["results"]] == [r["sku"] for r in b["results"]]
            assert [r["score"] for r in a["results"]] == pytest.approx([r["score"] for r in b["results"]], rel=1e-6)
            assert a["results"][0]["title"] == b["results"][0]["title"] is not None


def test_unreachable_tf_serving_is_a_503_naming_the_address(run_index):
    address = f"127.0.0.1:{free_port()}"
    backend = TFServingBackend(address, "sicot", timeout_s=0.5)
    with serve_in_background(create_app(backend, run_index)) as url:
        with pytest.raises(ServiceError) as info:
            RecognitionClient(url).recognize(IMAGES[0])
        assert info.value.status == 503
        assert info.value.message.startswith(f"model unavailable: TF Serving at {address} is unreachable")
        # Bad input is still refused as such, and the service stays up.
        assert httpx.post(f"{url}/v1/recognize", json={}).status_code == 415
        assert httpx.get(f"{url}/healthz").json()["model"] == f"TF Serving at {address}, model sicot"


def test_backend_from_config_picks_the_newest_pushed_version(tiny_run_dir, tf_serving_address):
    config = load_config(overrides=[f"pipeline.output_dir={tiny_run_dir}"])
    backend = backend_from_config(config)
    assert backend.model_dir == latest_version_dir(tiny_run_dir / "serving" / "sicot")
    grpc_config = load_config(overrides=[
        f"pipeline.output_dir={tiny_run_dir}", "service.backend=tf_serving",
        f"service.tf_serving_address={tf_serving_address}", "service.timeout_s=30",
    ])
    grpc_backend = backend_from_config(grpc_config)
    assert grpc_backend.recognize(IMAGES[:1]).model_version == backend.model_version
    with pytest.raises(ValueError, match="service.backend must be saved_model or tf_serving"):
        backend_from_config(load_config(overrides=["service.backend=onnx"]))


def test_latest_version_dir_explains_an_empty_base(tmp_path):
    (tmp_path / "sicot").mkdir()
    with pytest.raises(FileNotFoundError, match="no model version folder under .*run `sicot run`"):
        latest_version_dir(tmp_path / "sicot")


def _copy_tree(source: str, target: str) -> None:
    for folder, _, files in tf.io.gfile.walk(source):
        destination = target + folder[len(source):]
        tf.io.gfile.makedirs(destination)
        for name in files:
            tf.io.gfile.copy(f"{folder}/{name}", f"{destination}/{name}", overwrite=True)


def test_the_in_process_backend_serves_a_push_destination_in_a_bucket(tiny_run_dir, saved_model_backend):
    """pipeline.output_dir=gs://...: the newest version is found and loaded through
    tf.io.gfile (TensorFlow's in-memory file system stands in for the bucket), versions
    ordered as numbers, and it answers as the local copy does."""
    pushed = latest_version_dir(tiny_run_dir / "serving" / "sicot")
    root = "ram://bucket/sicot_run"
    for version in ("2", "12"):
        _copy_tree(pushed, f"{root}/serving/sicot/{version}")
    config = load_config(overrides=[f"pipeline.output_dir={root}"])
    backend = backend_from_config(config)
    assert backend.model_dir == f"{root}/serving/sicot/12" and backend.model_version == "12"
    got, want = backend.recognize(IMAGES), saved_model_backend.recognize(IMAGES)
    assert [[p.sku for p in row] for row in got.predictions] == [[p.sku for p in row] for row in want.predictions]
