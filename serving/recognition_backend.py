"""The model behind the service, one interface, two backends.

- :class:`SavedModelBackend` (the default): the pushed SavedModel's serving signature
  called in this process.
- :class:`TFServingBackend`: the same signature in TF Serving, over gRPC
  (serving/grpc_client.py), with a deadline; an unreachable server raises
  :class:`ModelUnavailable` naming the address.

Both take a batch of encoded image bytes and return, per image, the top-k
(SKU, score, class id) of the ``serving_default`` signature (models/export.py), with
the version of the model that answered.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sicot.config import ConfigError


class ModelUnavailable(RuntimeError):
    """The model cannot answer now (TF Serving down or too slow); not the client's fault."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    sku: str
    score: float
    class_id: int


@dataclasses.dataclass(frozen=True)
class Recognition:
    predictions: list[list[Prediction]]  # per image, best first
    model_version: str


def predictions_from_outputs(outputs: Mapping[str, np.ndarray]) -> list[list[Prediction]]:
    """serving_default's labels / scores / class_ids [B, k] -> per image, best first."""
    labels, scores, ids = (np.asarray(outputs[k]) for k in ("labels", "scores", "class_ids"))
    return [
        [
            Prediction(l.decode("utf-8") if isinstance(l, bytes) else str(l), float(s), int(c))
            for l, s, c in zip(row_l, row_s, row_c)
        ]
        for row_l, row_s, row_c in zip(labels, scores, ids)
    ]


def is_model_input_error(error: Exception) -> bool:
    """The model refused an input (an image TensorFlow cannot decode), not a failure of its own."""
    import tensorflow as tf

    return isinstance(error, tf.errors.InvalidArgumentError)


def load_saved_model(model_dir: str | Path):
    """The pushed serving model: image signatures, core TensorFlow ops only
    (models/export.py), so no op library beyond TensorFlow's is needed."""
    import tensorflow as tf

    return tf.saved_model.load(str(model_dir))


def latest_version_dir(model_base: str | Path) -> str:
    """The newest integer version folder under a TF Serving model base (Pusher's layout),
    local or in a bucket (gs://...: listed through tf.io.gfile, as TF Serving reads it)."""
    import tensorflow as tf

    base = str(model_base).rstrip("/")
    names = [n.rstrip("/") for n in tf.io.gfile.listdir(base)] if tf.io.gfile.isdir(base) else []
    versions = sorted((int(n), n) for n in names if n.isdigit())
    if not versions:
        raise FileNotFoundError(f"no model version folder under {base}: run `sicot run` (the Pusher writes one)")
    return f"{base}/{versions[-1][1]}"


class RecognitionBackend:
    description: str = ""

    def recognize(self, images: Sequence[bytes]) -> Recognition:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SavedModelBackend(RecognitionBackend):
    def __init__(self, model_dir: str | Path, signature_name: str = "serving_default"):
        import tensorflow as tf

        self.model_dir = str(model_dir).rstrip("/")
        if not tf.io.gfile.exists(f"{self.model_dir}/saved_model.pb"):
            raise FileNotFoundError(f"no SavedModel at {self.model_dir}")
        self._model = load_saved_model(self.model_dir)
        if signature_name not in self._model.signatures:
            raise ValueError(
                f"{self.model_dir} has no signature '{signature_name}' (it has {sorted(self._model.signatures)})"
            )
        self._signature = self._model.signatures[signature_name]
        self._tf = tf
        name = self.model_dir.rsplit("/", 1)[-1]
        self.model_version = name if name.isdigit() else self.model_dir
        self.description = f"SavedModel {self.model_dir} (in-process)"

    def recognize(self, images: Sequence[bytes]) -> Recognition:
        outputs = self._signature(images=self._tf.constant(list(images), dtype=self._tf.string))
        return Recognition(predictions_from_outputs({k: v.numpy() for k, v in outputs.items()}), self.model_version)


class TFServingBackend(RecognitionBackend):
    def __init__(self, address: str, model_name: str, signature_name: str = "serving_default",
                 version: int | None = None, timeout_s: float = 5.0, version_label: str | None = None):
        from serving.grpc_client import TFServingClient

        self.client = TFServingClient(address, model_name, signature_name, version, timeout_s, version_label)
        self.description = f"TF Serving at {address}, model {model_name}" + (
            f" version {version}" if version else f" label {version_label}" if version_label else "")

    def recognize(self, images: Sequence[bytes]) -> Recognition:
        from serving.grpc_client import TFServingError, TFServingUnavailable

        try:
            outputs, version = self.client.recognize(list(images))
        except (TFServingUnavailable, TFServingError) as e:
            raise ModelUnavailable(str(e)) from None
        return Recognition(predictions_from_outputs(outputs), str(version))

    def close(self) -> None:
        self.client.close()


def backend_from_config(config) -> RecognitionBackend:
    """The backend ``service.backend`` names, set up from the configuration."""
    service = config.service
    if service.backend == "saved_model":
        model_dir = service.model_dir or latest_version_dir(config.output_location("serving", config.pipeline.name))
        return SavedModelBackend(model_dir, service.signature_name)
    if service.backend == "tf_serving":
        return TFServingBackend(
            service.tf_serving_address,
            service.tf_serving_model_name or config.pipeline.name,
            service.signature_name,
            service.tf_serving_model_version,
            service.timeout_s,
            service.tf_serving_version_label,
        )
    raise ConfigError(f"service.backend must be saved_model or tf_serving, got '{service.backend}'")
