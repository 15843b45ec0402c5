"""A stand-in for tensorflow_model_server: TF Serving's gRPC PredictionService over
SavedModels, served by grpc's own server in this process.

The TF Serving binary cannot be installed on this project's machine (no Python or
Debian package carries it; the official ``tensorflow/serving`` container needs a
Docker engine). This server speaks the same protocol over the same folder layout
(``<base>/<model name>/<integer version>/``, every version found loaded before it
answers): ``Predict`` (tensor protos), ``Classify`` (tf.Examples in, classes and
scores out, on a signature whose method name is ``tensorflow/serving/classify``) and
``GetModelMetadata`` (the signature_def map, read from the saved_model.pb as the model
server does). It honours the request's model name, version or version label (resolved
through ``<base>/models.config``'s ``version_labels``, read on each request), and
signature name, so the gRPC client and the service's TF Serving backend are tested
against the real wire format. Unknown models, versions, labels, signatures and inputs
get TF Serving's status codes (NOT_FOUND, INVALID_ARGUMENT).
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
    from serving.tf_serving_config import labels_of

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

        def _requested(self, spec, context):
            """(model, version, folder) of a ModelSpec: version, else version label, else newest."""
            version = spec.version.value if spec.HasField("version") else None
            if version is None and spec.version_label:
                labels = labels_of(self.base_dir, spec.name)
                if spec.version_label not in labels:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                  f"Unrecognized servable version label: {spec.version_label}")
                version = labels[spec.version_label]
            return self._model(spec.name, version, context)

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

        def _signature_defs(self, name: str, version: int):
            from tensorflow.python.tools import saved_model_utils

            path = model_versions(self.base_dir / name)[version]
            return saved_model_utils.get_meta_graph_def(str(path), "serve").signature_def

        def Classify(self, request, context):
            import tensorflow as tf
            from tensorflow_serving.apis import classification_pb2

            spec = request.model_spec
            model, version = self._requested(spec, context)
            signature_name = spec.signature_name or "serving_default"
            definition = self._signature_defs(spec.name, version).get(signature_name)
            if definition is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"Serving signature name: \"{signature_name}\" not found in signature def")
            if definition.method_name != "tensorflow/serving/classify":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"Expected classification signature method_name to be tensorflow/serving/classify. "
                              f"Was: {definition.method_name}")
            examples = [e.SerializeToString() for e in request.input.example_list.examples]
            if not examples:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
            try:
                outputs = model.signatures[signature_name](inputs=tf.constant(examples))
            except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0])
            response = classification_pb2.ClassificationResponse()
            response.model_spec.name = spec.name
            response.model_spec.version.value = version
            response.model_spec.signature_name = signature_name
            for labels, scores in zip(outputs["classes"].numpy(), outputs["scores"].numpy()):
                row = response.result.classifications.add()
                for label, score in zip(labels, scores):
                    row.classes.add(label=label.decode("utf-8"), score=float(score))
            return response

        def GetModelMetadata(self, request, context):
            from tensorflow_serving.apis import get_model_metadata_pb2

            if list(request.metadata_field) != ["signature_def"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "Metadata field signature_def is the only one supported")
            _, version = self._requested(request.model_spec, context)
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, definition in self._signature_defs(request.model_spec.name, version).items():
                signature_map.signature_def[key].CopyFrom(definition)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = request.model_spec.name
            response.model_spec.version.value = version
            response.metadata["signature_def"].Pack(signature_map)
            return response

        def Predict(self, request, context):
            import tensorflow as tf
            from tensorflow_serving.apis import predict_pb2

            spec = request.model_spec
            model, version = self._requested(spec, context)
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
