"""The TF Serving gRPC client against a PredictionService that loads the pushed SavedModel."""

import shutil
import time

import grpc
import numpy as np
import pytest

from tests.background_server import free_port
from serving.grpc_client import TFServingClient, TFServingError, TFServingUnavailable
from tests.local_prediction_server import start_prediction_server
from tests.tiny_catalogue import COLOURS, png_bytes, split_records

IMAGES = [png_bytes(COLOURS[c], size=(16, 16)) for c in ("red", "green", "blue")]
PATIENT = 30.0  # deadline of the calls that must succeed, on a busy 2-core machine


@pytest.fixture(scope="module")
def model_server(pushed_model_dir, tmp_path_factory):
    """TF Serving's layout with two versions of the model: the pushed one and a copy as version 1."""
    base = tmp_path_factory.mktemp("tf_serving")
    shutil.copytree(pushed_model_dir, base / "sicot" / pushed_model_dir.name)
    shutil.copytree(pushed_model_dir, base / "sicot" / "1")
    server, address = start_prediction_server(base)
    _BASES[address] = base
    yield address, int(pushed_model_dir.name)
    server.stop(0)


_BASES: dict = {}


def model_server_base(address):
    """The folder the stand-in serves (where models.config goes)."""
    return _BASES[address]


def test_predict_equals_the_saved_model_called_directly(model_server, saved_model_backend):
    address, newest = model_server
    client = TFServingClient(address, "sicot", timeout_s=PATIENT)
    outputs, version = client.recognize(IMAGES)
    direct = saved_model_backend.recognize(IMAGES).predictions
    assert version == newest  # no version asked: the newest
    assert outputs["labels"].astype(str).tolist() == [[p.sku for p in row] for row in direct]
    np.testing.assert_allclose(outputs["scores"], [[p.score for p in row] for row in direct], rtol=1e-6)
    assert outputs["class_ids"].tolist() == [[p.class_id for p in row] for row in direct]
    client.close()


def test_the_requested_version_and_signature_answer(model_server, tiny_run_dir):
    import tensorflow as tf

    address, _ = model_server
    outputs, version = TFServingClient(address, "sicot", version=1, timeout_s=PATIENT).recognize(IMAGES[:1])
    assert version == 1 and outputs["labels"].shape == (1, 3)
    record = tf.constant(split_records(tiny_run_dir, "eval")[0])
    probabilities, _ = TFServingClient(address, "sicot", signature_name="predict_examples", timeout_s=PATIENT).predict(
        {"examples": np.array([record.numpy()], dtype=object)}
    )
    assert probabilities["probabilities"].shape == (1, 4)
    np.testing.assert_allclose(probabilities["probabilities"].sum(), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, code, words",
    [
        ({"model_name": "nope"}, grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
        ({"model_name": "sicot", "version": 7}, grpc.StatusCode.NOT_FOUND, "Specific(sicot, 7)"),
        ({"model_name": "sicot", "signature_name": "nope"}, grpc.StatusCode.INVALID_ARGUMENT, '"nope" not found'),
    ],
)
def test_server_errors_come_back_with_their_status(model_server, kwargs, code, words):
    address, _ = model_server
    with pytest.raises(TFServingError) as info:
        TFServingClient(address, timeout_s=PATIENT, **kwargs).recognize(IMAGES[:1])
    assert info.value.code == code and words in str(info.value) and address in str(info.value)


def test_classify_rpc_gives_the_predict_top_k(model_server):
    address, newest = model_server
    client = TFServingClient(address, "sicot", timeout_s=PATIENT)
    classes, scores, version = client.classify(IMAGES)
    outputs, _ = client.recognize(IMAGES)
    assert version == newest
    assert classes == outputs["labels"].astype(str).tolist()
    np.testing.assert_allclose(scores, outputs["scores"], rtol=1e-6)
    # Classify needs a classification signature, as the model server checks.
    with pytest.raises(TFServingError, match="INVALID_ARGUMENT.*tensorflow/serving/classify"):
        client.classify(IMAGES[:1], signature_name="serving_default")


def test_model_metadata_lists_the_signatures_with_their_method_names(model_server):
    address, newest = model_server
    signatures, version = TFServingClient(address, "sicot", timeout_s=PATIENT).signature_defs()
    assert version == newest
    # As the model server does, the map holds every signature_def, the init op's too.
    assert {k: v.method_name for k, v in signatures.items() if k != "__saved_model_init_op"} == {
        "serving_default": "tensorflow/serving/predict",
        "predict_examples": "tensorflow/serving/predict",
        "classify": "tensorflow/serving/classify",
    }
    assert list(signatures["classify"].inputs) == ["inputs"]
    assert set(signatures["classify"].outputs) == {"classes", "scores"}


def test_a_version_label_addresses_the_version_models_config_names(model_server, tmp_path):
    from serving.recognition_backend import TFServingBackend
    from serving.tf_serving_config import read_models_config, write_models_config

    address, newest = model_server
    base = model_server_base(address)
    write_models_config(base, {"sicot": {"stable": 1, "canary": newest}})
    assert dict(read_models_config(base / "models.config").model_config_list.config[0].version_labels) == {
        "stable": 1, "canary": newest}
    for label, version in (("stable", 1), ("canary", newest)):
        backend = TFServingBackend(address, "sicot", timeout_s=PATIENT, version_label=label)
        assert backend.recognize(IMAGES[:1]).model_version == str(version)
        assert f"label {label}" in backend.description
    with pytest.raises(TFServingError, match="Unrecognized servable version label: beta"):
        TFServingClient(address, "sicot", version_label="beta", timeout_s=PATIENT).recognize(IMAGES[:1])


def test_wrong_input_name_is_invalid_argument(model_server):
    address, _ = model_server
    with pytest.raises(TFServingError, match="INVALID_ARGUMENT.*do not match the signature's"):
        TFServingClient(address, "sicot", timeout_s=PATIENT).predict({"pictures": np.array([IMAGES[0]], dtype=object)})


def test_an_unreachable_server_fails_fast_naming_the_address():
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(TFServingUnavailable) as info:
        TFServingClient(address, "sicot", timeout_s=1.0).recognize(IMAGES[:1])
    assert time.monotonic() - started < 5
    assert f"TF Serving at {address} is unreachable" in str(info.value)
