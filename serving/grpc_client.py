"""A client of TF Serving's gRPC PredictionService (the API of tensorflow_model_server).

    from serving.grpc_client import TFServingClient
    client = TFServingClient("localhost:8500", model_name="sicot")
    outputs, version = client.predict({"images": [open("photo.jpg", "rb").read()]})
    outputs["labels"]   # [1, k] SKU ids (bytes), with outputs["scores"], outputs["class_ids"]
    classes, scores, version = client.classify([open("photo.jpg", "rb").read()])   # Classify RPC
    client.signature_defs()                                                      # GetModelMetadata
    TFServingClient("localhost:8500", "sicot", version_label="canary")           # a labelled version

Predict requests are ``PredictRequest`` protos with tensors made by
``tf.make_tensor_proto``; Classify requests carry tf.Examples with the ``image``
feature to the ``classify`` signature (method ``tensorflow/serving/classify``). A
version, else a version label (``stable``, ``canary``: serving/tf_serving_config.py),
else the newest version answers. Every call has a deadline (``timeout_s``). A server that cannot be reached or does not
answer in time raises :class:`TFServingUnavailable` naming the address; an error the
server answers with (unknown model or signature, bad input) raises
:class:`TFServingError` with its status and message.
"""

from __future__ import annotations

from typing import Mapping

import grpc
import numpy as np

_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class TFServingUnavailable(RuntimeError):
    """TF Serving cannot be reached or did not answer within the deadline."""


class TFServingError(RuntimeError):
    """TF Serving answered with an error status."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


class TFServingClient:
    def __init__(
        self,
        address: str,
        model_name: str,
        signature_name: str = "serving_default",
        version: int | None = None,
        timeout_s: float = 5.0,
        version_label: str | None = None,
    ):
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.address = address
        self.model_name = model_name
        self.signature_name = signature_name
        self.version = version
        self.version_label = version_label
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(address)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def _model_spec(self, spec, signature_name: str | None = None) -> None:
        spec.name = self.model_name
        if signature_name is not None:
            spec.signature_name = signature_name
        if self.version is not None:
            spec.version.value = self.version
        elif self.version_label:
            spec.version_label = self.version_label

    def request(self, inputs: Mapping[str, object]):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, self.signature_name)
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        return request

    def _call(self, rpc, request):
        try:
            return rpc(request, timeout=self.timeout_s)
        except grpc.RpcError as e:
            code = e.code()
            if code in _UNREACHABLE:
                raise TFServingUnavailable(
                    f"TF Serving at {self.address} is unreachable or did not answer within "
                    f"{self.timeout_s:g} s ({code.name}: {e.details()})"
                ) from None
            raise TFServingError(code, f"TF Serving at {self.address} refused the request ({code.name}: {e.details()})") from None

    def predict(self, inputs: Mapping[str, object]) -> tuple[dict[str, np.ndarray], int]:
        """The signature's outputs as arrays, and the model version that answered."""
        import tensorflow as tf

        response = self._call(self._stub.Predict, self.request(inputs))
        outputs = {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}
        return outputs, response.model_spec.version.value

    def classify(self, images: list[bytes], signature_name: str = "classify") -> tuple[list[list[str]], np.ndarray, int]:
        """The Classify RPC over encoded images: per image the k best SKUs, their scores
        [B, k], and the model version that answered."""
        import tensorflow as tf
        from tensorflow_serving.apis import classification_pb2

        request = classification_pb2.ClassificationRequest()
        self._model_spec(request.model_spec, signature_name)
        for image in images:
            example = request.input.example_list.examples.add()
            example.features.feature["image"].CopyFrom(tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])))
        response = self._call(self._stub.Classify, request)
        rows = response.result.classifications
        classes = [[c.label for c in row.classes] for row in rows]
        scores = np.array([[c.score for c in row.classes] for row in rows], dtype=np.float32)
        return classes, scores, response.model_spec.version.value

    def signature_defs(self) -> tuple[dict, int]:
        """GetModelMetadata: the served version's signature_defs by name, and the version."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._model_spec(request.model_spec)
        response = self._call(self._stub.GetModelMetadata, request)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return dict(signatures.signature_def), response.model_spec.version.value

    def recognize(self, images: list[bytes]) -> tuple[dict[str, np.ndarray], int]:
        """serving_default over encoded image bytes: labels, scores, class_ids [B, k]."""
        return self.predict({"images": np.array(images, dtype=object)})

    def close(self) -> None:
        self._channel.close()
