"""A client of TF Serving's gRPC PredictionService (the API of tensorflow_model_server).

    from serving.grpc_client import TFServingClient
    client = TFServingClient("localhost:8500", model_name="sicot")
    outputs, version = client.predict({"images": [open("photo.jpg", "rb").read()]})
    outputs["labels"]   # [1, k] SKU ids (bytes), with outputs["scores"], outputs["class_ids"]

Requests are ``PredictRequest`` protos with tensors made by ``tf.make_tensor_proto``;
every call has a deadline (``timeout_s``). A server that cannot be reached or does not
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
    ):
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.address = address
        self.model_name = model_name
        self.signature_name = signature_name
        self.version = version
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(address)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def request(self, inputs: Mapping[str, object]):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = self.signature_name
        if self.version is not None:
            request.model_spec.version.value = self.version
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        return request

    def predict(self, inputs: Mapping[str, object]) -> tuple[dict[str, np.ndarray], int]:
        """The signature's outputs as arrays, and the model version that answered."""
        import tensorflow as tf

        try:
            response = self._stub.Predict(self.request(inputs), timeout=self.timeout_s)
        except grpc.RpcError as e:
            code = e.code()
            if code in _UNREACHABLE:
                raise TFServingUnavailable(
                    f"TF Serving at {self.address} is unreachable or did not answer within "
                    f"{self.timeout_s:g} s ({code.name}: {e.details()})"
                ) from None
            raise TFServingError(code, f"TF Serving at {self.address} refused the request ({code.name}: {e.details()})") from None
        outputs = {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}
        return outputs, response.model_spec.version.value

    def recognize(self, images: list[bytes]) -> tuple[dict[str, np.ndarray], int]:
        """serving_default over encoded image bytes: labels, scores, class_ids [B, k]."""
        return self.predict({"images": np.array(images, dtype=object)})

    def close(self) -> None:
        self._channel.close()
