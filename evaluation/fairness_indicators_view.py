"""A run's TFMA evaluations in the Fairness Indicators TensorBoard plugin.

``sicot tensorboard RUN_DIR`` (a ``sicot run`` folder or a ``compare`` folder) writes
one TensorBoard run per Evaluator execution under ``RUN_DIR/tensorboard/``: an event
file holding the plugin's own summary (``tensorboard_plugin_fairness_indicators.
summary_v2.FairnessIndicators``, the path of a TFMA output), then starts TensorBoard
on that folder. The plugin reads TFMA's output itself (``tfma.load_eval_result``) and
shows every metric of every slice, overall, head/tail and the frequency buckets,
with TFMA's confidence intervals, side by side.

One adaptation: the plugin loads an evaluation without a model name, which TFMA only
allows for a single-model evaluation. A ``sicot run`` evaluation holds two models (the
candidate and the last blessed model, for the blessing), so for those the candidate's
metrics are written to ``RUN_DIR/tensorboard/<run>/tfma/`` first (TFMA's metrics
records with only the candidate's keys, and TFMA's eval config with only its model
spec), unchanged otherwise. A ``sicot compare`` evaluation is read where it is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

from evaluation.run_results import collect_model_results, metadata_path_of
from tfx_pipeline.eval_config import CANDIDATE_MODEL

LOGDIR_NAME = "tensorboard"


@dataclasses.dataclass(frozen=True)
class FairnessRun:
    name: str            # the TensorBoard run: <variant>-seed<seed>-<split>-e<execution id>
    evaluation_dir: str  # the TFMA output the plugin reads


def _single_model_copy(evaluation_dir: str, out_dir: Path, candidate: str) -> str:
    """TFMA's metrics and eval config of ``evaluation_dir`` with only ``candidate``'s
    keys, its model name cleared, in ``out_dir``."""
    import tensorflow as tf
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    out_dir.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(out_dir / "metrics-00000-of-00001.tfrecord")) as writer:
        for proto in tfma.load_metrics(evaluation_dir):
            kept = metrics_for_slice_pb2.MetricsForSlice()
            kept.slice_key.CopyFrom(proto.slice_key)
            if proto.HasField("cross_slice_key"):
                kept.cross_slice_key.CopyFrom(proto.cross_slice_key)
            for kv in proto.metric_keys_and_values:
                if kv.key.model_name == candidate and not kv.key.is_diff:
                    copy = kept.metric_keys_and_values.add()
                    copy.CopyFrom(kv)
                    copy.key.model_name = ""
            writer.write(kept.SerializeToString())
    config, eval_config = _eval_config(evaluation_dir)
    specs = [s for s in eval_config.get("modelSpecs", []) if s.get("name", "") == candidate]
    for spec in specs:
        spec.pop("name", None)
        spec.pop("isBaseline", None)
    eval_config["modelSpecs"] = specs
    for metrics_spec in eval_config.get("metricsSpecs", []):
        metrics_spec.pop("modelNames", None)
    if "modelLocations" in config:
        config["modelLocations"] = {"": config["modelLocations"].get(candidate, "")}
    (out_dir / "eval_config.json").write_text(json.dumps(config))
    return str(out_dir)


def _eval_config(evaluation_dir: str) -> tuple[dict, dict]:
    """TFMA's eval_config.json of an evaluation: the whole document and its EvalConfig
    part (the same dict objects: editing the second edits the first)."""
    config = json.loads((Path(evaluation_dir) / "eval_config.json").read_text())
    return config, config.get("evalConfig", config)


def _model_names(evaluation_dir: str) -> list[str]:
    return [s.get("name", "") for s in _eval_config(evaluation_dir)[1].get("modelSpecs", [])]


def write_logdir(run_dir: str | Path, logdir: str | Path | None = None) -> tuple[Path, list[FairnessRun]]:
    """One TensorBoard run per evaluation of the run (oldest first); replaces what an
    earlier call wrote there."""
    import tensorflow as tf
    from tensorboard_plugin_fairness_indicators import summary_v2

    metadata = metadata_path_of(run_dir)
    logdir = Path(logdir) if logdir else metadata.parent / LOGDIR_NAME
    runs = []
    for model in collect_model_results(metadata):
        name = re.sub(r"[^A-Za-z0-9_.+-]", "_", f"{model.variant}-seed{model.seed}-{model.split}-e{model.execution_id}")
        run_path = logdir / name
        shutil.rmtree(run_path, ignore_errors=True)
        evaluation_dir = model.evaluation_dir
        if CANDIDATE_MODEL in _model_names(evaluation_dir):
            evaluation_dir = _single_model_copy(evaluation_dir, run_path / "tfma", CANDIDATE_MODEL)
        writer = tf.summary.create_file_writer(str(run_path))
        with writer.as_default():
            summary_v2.FairnessIndicators(evaluation_dir, step=0)
        writer.close()
        runs.append(FairnessRun(name, evaluation_dir))
    return logdir, runs


def tensorboard_command(logdir: Path, host: str = "127.0.0.1", port: int = 6006) -> list[str]:
    """TensorBoard on the logdir (the Fairness Indicators plugin registers itself). The
    plugin reads TensorBoard's event multiplexer, which TensorBoard 2.16 builds only
    with --load_fast=false."""
    import sys

    return [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--load_fast=false",
            "--host", host, "--port", str(port)]


def plugin_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/#fairness_indicators"


def environment() -> dict[str, str]:
    """TensorBoard's environment: quiet TensorFlow logging."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env
