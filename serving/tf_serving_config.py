"""The TF Serving model server config (``models.config``) for the pushed models.

The Pusher writes ``<output_dir>/serving/<model name>/<integer version>/``; this
module writes ``<output_dir>/serving/models.config`` beside it, a text-format
``tensorflow.serving.ModelServerConfig`` whose ``base_path`` is where that folder is
mounted in the official ``tensorflow/serving`` container (``/models/<model name>``,
see deploy/), and ``batching_parameters.txt`` for ``--batching_parameters_file``.

Versions are served by label (a ``specific`` version policy with ``version_labels``):
the first push is ``stable``; a later push, while a stable version serves, is
``canary`` beside it. Clients that ask for ``canary`` (the service's
``service.tf_serving_version_label``, the gRPC client's ``version_label``) reach the
new model, every other request the stable one, until ``sicot serving promote`` (the
canary becomes stable, the old version is unloaded) or ``sicot serving rollback`` (the
canary is dropped). The model server re-reads the file with
``--model_config_file_poll_wait_seconds``; a label may name a version it has not loaded
yet with ``--allow_version_labels_for_unavailable_models`` (deploy/ sets both).
"""

from __future__ import annotations

from pathlib import Path

CONTAINER_MODELS_ROOT = "/models"
MODELS_CONFIG_NAME = "models.config"
# The ops beyond core TensorFlow that the *evaluation* model's title signatures use
# (TensorFlow Text's). The pushed serving model has none (models/export.py): any
# TensorFlow runtime, a model server without TensorFlow Text included, loads it.
TEXT_OPS = frozenset({"CaseFoldUTF8", "NormalizeUTF8", "RegexSplitWithOffsets"})


def non_core_ops(saved_model_pb: str | Path) -> set[str]:
    """Op types in a saved_model.pb that this process's TensorFlow has not registered
    (run it where tensorflow_text is not imported to see what a bare server lacks)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    model = saved_model_pb2.SavedModel.FromString(Path(saved_model_pb).read_bytes())
    ops, functions = set(), set()
    for graph in model.meta_graphs:
        ops.update(n.op for n in graph.graph_def.node)
        for function in graph.graph_def.library.function:
            functions.add(function.signature.name)
            ops.update(n.op for n in function.node_def)
    return {op for op in ops - functions if op_def_registry.get(op) is None}


STABLE, CANARY = "stable", "canary"
BATCHING_PARAMETERS_NAME = "batching_parameters.txt"
# TF Serving's --batching_parameters_file (a text BatchingParameters proto), with the
# values its batching guide suggests starting from on CPU: batches of up to 32 images,
# a 2 ms window (the service's own batch_timeout_ms), one batching thread per core of a
# 4-core server, and a bounded queue so that overload is refused rather than buffered.
BATCHING_PARAMETERS = """max_batch_size { value: 32 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: 4 }
"""


def read_models_config(path: str | Path):
    """Parses a models.config back into a ModelServerConfig (raises on a malformed file)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(Path(path).read_text(), model_server_config_pb2.ModelServerConfig())


def pushed_versions(serving_root: str | Path, model_name: str) -> list[int]:
    folder = Path(serving_root) / model_name
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and (p / "saved_model.pb").exists())


def labels_of(serving_root: str | Path, model_name: str) -> dict[str, int]:
    """The version labels models.config gives a model ({} without a config)."""
    path = Path(serving_root) / MODELS_CONFIG_NAME
    if not path.exists():
        return {}
    for model in read_models_config(path).model_config_list.config:
        if model.name == model_name:
            return dict(model.version_labels)
    return {}


def models_config(labels_by_model: dict[str, dict[str, int]], container_root: str = CONTAINER_MODELS_ROOT):
    """The ModelServerConfig serving, for each model, exactly its labelled versions (a
    ``specific`` version policy) under their labels."""
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    for name, labels in labels_by_model.items():
        model = config.model_config_list.config.add()
        model.name = name
        model.base_path = f"{container_root.rstrip('/')}/{name}"
        model.model_platform = "tensorflow"
        model.model_version_policy.specific.versions.extend(sorted(set(labels.values())))
        for label in (STABLE, CANARY):
            if label in labels:
                model.version_labels[label] = labels[label]
    return config


def write_models_config(serving_root: str | Path, labels_by_model: dict[str, dict[str, int]],
                        container_root: str = CONTAINER_MODELS_ROOT) -> Path:
    """Writes <serving_root>/models.config (atomically) and the batching parameters beside it."""
    from google.protobuf import text_format

    root = Path(serving_root)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in ((MODELS_CONFIG_NAME, text_format.MessageToString(models_config(labels_by_model, container_root))),
                       (BATCHING_PARAMETERS_NAME, BATCHING_PARAMETERS)):
        tmp = root / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(root / name)
    return root / MODELS_CONFIG_NAME


def roll_out(serving_root: str | Path, model_name: str) -> dict[str, int]:
    """After a push: the first version becomes ``stable``; a newer one, while a stable
    version serves, becomes ``canary`` beside it (clients that ask for ``canary`` get it,
    everything else keeps ``stable`` until ``promote``). Returns the labels."""
    root = Path(serving_root)
    versions = pushed_versions(root, model_name)
    if not versions:
        raise FileNotFoundError(f"no pushed version of {model_name} under {root}")
    labels = {k: v for k, v in labels_of(root, model_name).items() if v in versions}
    newest = versions[-1]
    if STABLE not in labels:
        labels = {STABLE: newest}
    elif newest > labels[STABLE] and newest != labels.get(CANARY):
        labels[CANARY] = newest
    write_models_config(root, {model_name: labels})
    return labels


def _drop_label(serving_root: str | Path, model_name: str, survivor: str, verb: str) -> dict[str, int]:
    root = Path(serving_root)
    labels = labels_of(root, model_name)
    if CANARY not in labels:
        raise ValueError(f"{model_name} has no canary version to {verb} (labels: {labels or 'none'})")
    labels = {STABLE: labels[survivor]}
    write_models_config(root, {model_name: labels})
    return labels


def promote(serving_root: str | Path, model_name: str) -> dict[str, int]:
    """The canary becomes the stable version (the old stable one is unloaded)."""
    return _drop_label(serving_root, model_name, CANARY, "promote")


def roll_back(serving_root: str | Path, model_name: str) -> dict[str, int]:
    """The canary is dropped; the stable version alone serves."""
    return _drop_label(serving_root, model_name, STABLE, "roll back")
