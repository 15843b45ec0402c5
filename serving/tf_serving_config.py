"""The TF Serving model server config (``models.config``) for the pushed models.

The Pusher writes ``<output_dir>/serving/<model name>/<integer version>/``; this
module writes ``<output_dir>/serving/models.config`` beside it, a text-format
``tensorflow.serving.ModelServerConfig`` whose ``base_path`` is where that folder is
mounted in the official ``tensorflow/serving`` container (``/models/<model name>``,
see deploy/). TF Serving serves the newest ``num_versions`` versions and picks up a
new push by itself (it polls the base path).
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


def models_config(model_names: list[str], container_root: str = CONTAINER_MODELS_ROOT, num_versions: int = 1):
    """The ModelServerConfig proto serving each model from <container_root>/<name>."""
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    for name in model_names:
        model = config.model_config_list.config.add()
        model.name = name
        model.base_path = f"{container_root.rstrip('/')}/{name}"
        model.model_platform = "tensorflow"
        model.model_version_policy.latest.num_versions = num_versions
    return config


def models_config_text(model_names: list[str], container_root: str = CONTAINER_MODELS_ROOT, num_versions: int = 1) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(models_config(model_names, container_root, num_versions))


def write_models_config(serving_root: str | Path, model_names: list[str], container_root: str = CONTAINER_MODELS_ROOT) -> Path:
    """Writes <serving_root>/models.config for the models pushed under serving_root."""
    path = Path(serving_root) / MODELS_CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".config.tmp")
    tmp.write_text(models_config_text(model_names, container_root))
    tmp.replace(path)
    return path


def read_models_config(path: str | Path):
    """Parses a models.config back into a ModelServerConfig (raises on a malformed file)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(Path(path).read_text(), model_server_config_pb2.ModelServerConfig())
