"""A stand-in for tensorflow_model_server: TF Serving's gRPC PredictionService over
SavedModels, served by grpc's own server in this process.

The TF Serving binary cannot be installed on this project's machine (no Python or
Debian package carries it; the official ``tensorflow/serving`` container needs a
Docker engine). This server speaks the same protocol (``PredictRequest`` and
``PredictResponse`` with tensor protos) over the same folder layout
(``<base>/<model name>/<integer version>/``, every version found loaded before it
answers), honouring the request's model name, version (default: the newest) and
signature name, so the gRPC client and the service's TF Serving backend are tested
against the real wire format. Unknown models, versions, signatures and inputs get TF
Serving's status codes (NOT_FOUND, INVALID_ARGUMENT).
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import grpc


def model_versions(model_base: Path) -> dict[int, Path]:
    """Integer version -> folder, for the versions with a saved_model.pb."""
    return {
        int(p.name): p for p in Path(model_base).iterdir() if p.name.isdigit() and (p / "saved_model.pb").exists()
    }


def _servicer_class():
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from serving.recognition_backend import load_saved_model

    class SavedModelPredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        """PredictionService.Predict over the versions of the models under a base folder."""

        def __init__(self, base_dir: Path):
            self.base_dir = Path(base_dir)
            self._loaded: dict[tuple[str, int], object] = {}
            self._lock = threading.Lock()
            # Like the model server, load what is there before answering (a version
            # pushed later is loaded on its first request).
            for folder in sorted(p for p in self.base_dir.iterdir() if p.is_dir()):
                for version, path in model_versions(folder).items():
                    self._loaded[(folder.name, version)] = load_saved_model(path)

        def _model(self, name: str, version: int | None, context):
            folder = self.base_dir / name
            versions = model_versions(folder) if name and folder.is_dir() else {}
            wanted = max(versions) if version is None and versions else version
            if wanted not in versions:
                which = f"Latest({name})" if version is None else f"Specific({name}, {version})"
                context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {which}")
            with self._lock:
                key = (name, wanted)
                if key not in self._loaded:
                    self._loaded[key] = load_saved_model(versions[wanted])
                return self._loaded[key], wanted

        def Predict(self, request, context):
            import tensorflow as tf
            from tensorflow_serving.apis import predict_pb2

            spec = request.model_spec
            version = spec.version.value if spec.HasField("version") else None
            model, version = self._model(spec.name, version, context)
            signature_name = spec.signature_name or "serving_default"
            if signature_name not in model.signatures:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Serving signature name: \"{signature_name}\" not found in signature def",
                )
            signature = model.signatures[signature_name]
            expected = set(signature.structured_input_signature[1])
            if set(request.inputs) != expected:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"input keys {sorted(request.inputs)} do not match the signature's {sorted(expected)}",
                )
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            try:
                outputs = signature(**inputs)
            except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0])
            wanted = set(request.output_filter) or set(outputs)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = spec.name
            response.model_spec.version.value = version
            response.model_spec.signature_name = signature_name
            for key in sorted(wanted & set(outputs)):
                response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key].numpy()))
            return response

    return SavedModelPredictionServicer


def start_prediction_server(base_dir: str | Path, host: str = "127.0.0.1", port: int = 0, workers: int = 4):
    """Starts the server; returns (grpc.Server, 'host:port'). Stop it with server.stop(0)."""
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_servicer_class()(base_dir), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, f"{host}:{bound}"
