"""The tf.distribute strategy of the Trainer, from ``distribute.strategy``.

- ``none``: the default strategy (one device; the classifier may still be sharded over
  devices by ``model.classifier_devices``).
- ``mirrored``: ``MirroredStrategy`` over ``distribute.devices`` (default: every GPU,
  else the CPU): one host, data parallel, gradients all-reduced each step.
- ``multi_worker_mirrored``: ``MultiWorkerMirroredStrategy``; every task of the cluster
  in ``TF_CONFIG`` (chief, workers) runs the same training program.
- ``parameter_server``: ``ParameterServerStrategy``; the chief coordinates
  (``tf.distribute.coordinator.ClusterCoordinator``) and schedules steps on the
  workers, variables live on the parameter servers, and worker and ps tasks only serve
  (``serve_cluster_task``). The classifier is split over the parameter servers by class
  by the ShardedClassifier (``model.classifier_shards``: one shard per parameter
  server), whose kernels PSS places round robin, one per parameter server. The strategy
  gets no TF ``variable_partitioner``: a partitioned variable is a TF
  ``ShardedVariable``, which Keras 3 variables cannot hold (the gradient tape asks the
  Keras variable for a ``handle`` a ShardedVariable has not; its optimizer update fails
  with "ShardedVariable doesn't support being used as a reference").

The global batch is ``train.batch_size``; each replica takes its share, and the loss is
scaled by the number of replicas so that summed gradients equal the global mean's.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from sicot.config import ConfigError, SicotConfig
from sicot.console import detail

STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "parameter_server")


def cluster_task() -> tuple[str | None, int]:
    """(task type, index) of this process in TF_CONFIG, or (None, 0) outside a cluster."""
    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task") or {}
    return task.get("type"), int(task.get("index", 0))


def data_workers() -> int:
    """How many tasks of the cluster in TF_CONFIG read training data under
    multi_worker_mirrored (the chief and the workers); 1 outside a cluster."""
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster") or {}
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def strategy_from_config(config: SicotConfig) -> tf.distribute.Strategy:
    d = config.distribute
    if d.strategy == "none":
        return tf.distribute.get_strategy()
    if d.strategy == "mirrored":
        return tf.distribute.MirroredStrategy(devices=d.devices or None)
    if d.strategy == "multi_worker_mirrored":
        _require_cluster(d.strategy)
        return tf.distribute.MultiWorkerMirroredStrategy()
    if d.strategy == "parameter_server":
        _require_cluster(d.strategy)
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        # No variable_partitioner: see the module docstring.
        return tf.distribute.experimental.ParameterServerStrategy(resolver, variable_partitioner=None)
    raise ValueError(f"unknown distribute.strategy '{d.strategy}' (known: {', '.join(STRATEGIES)})")


def check_cluster_shape(strategy: str, workers: int, parameter_servers: int, *, cluster: str,
                        workers_setting: str, servers_setting: str) -> None:
    """Refuses (ConfigError, naming the setting to change) a cluster of one chief,
    ``workers`` workers and ``parameter_servers`` parameter servers that ``strategy``
    cannot use: the clusters that the pipeline's Trainer step starts
    (tfx_pipeline/vertex_training.py, tfx_pipeline/tfjob_training.py)."""
    if workers < 0 or parameter_servers < 0:
        raise ConfigError(f"{workers_setting} ({workers}) and {servers_setting} ({parameter_servers}) must be 0 "
                          "or more")
    if strategy in ("none", "mirrored") and (workers or parameter_servers):
        raise ConfigError(
            f"a {cluster} cluster with {workers} worker(s) and {parameter_servers} parameter server(s) needs "
            f"distribute.strategy multi_worker_mirrored or parameter_server (it is '{strategy}', which trains "
            "on the chief alone)")
    if strategy == "multi_worker_mirrored" and parameter_servers:
        raise ConfigError(f"distribute.strategy=multi_worker_mirrored has no parameter servers: set "
                          f"{servers_setting}=0, or use distribute.strategy=parameter_server")
    if strategy == "parameter_server" and (workers < 1 or parameter_servers < 1):
        raise ConfigError(
            f"distribute.strategy=parameter_server needs at least one worker and one parameter server "
            f"({workers_setting}={workers}, {servers_setting}={parameter_servers})")


def _require_cluster(strategy: str) -> None:
    if not os.environ.get("TF_CONFIG"):
        raise ValueError(f"distribute.strategy={strategy} needs the cluster in the TF_CONFIG environment variable")


def is_chief() -> bool:
    """The task that writes the model: the chief of a cluster, or the only process."""
    task_type, index = cluster_task()
    return task_type in (None, "chief") or (task_type == "worker" and index == 0 and not _has_chief())


def task_path(path: str) -> str:
    """``path`` for the chief (or outside a cluster), ``path/<task type>_<index>`` for any
    other task: the tasks of a multi-worker cluster run the same program and hold the
    same state, and each writes (and on a restart reads back) its own copy of what it
    keeps there (the training backups) instead of writing over the chief's."""
    if is_chief():
        return path
    task_type, index = cluster_task()
    return os.path.join(path, f"{task_type}_{index}")


def _has_chief() -> bool:
    return bool((json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster") or {}).get("chief"))


def is_parameter_server(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy)


def serve_cluster_task(config: SicotConfig) -> bool:
    """In a parameter-server cluster, worker and ps tasks serve until killed (True after
    the server stops); the chief and every other setup return False at once."""
    task_type, index = cluster_task()
    if config.distribute.strategy != "parameter_server" or task_type not in ("worker", "ps"):
        return False
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    server = tf.distribute.Server(
        resolver.cluster_spec(), job_name=task_type, task_index=index, protocol="grpc", start=True
    )
    server.join()
    return True


def fit_on_parameter_servers(model, dataset_fn, epochs: int, steps_per_epoch: int, initial_epoch: int = 0,
                             callbacks=(), validation_data=None, backup=None):
    """model.fit for ParameterServerStrategy (Keras 3's fit does not drive a
    ClusterCoordinator): the chief schedules model.train_step on the workers, steps_per_epoch
    per epoch, and returns the per-epoch logs {name: [value per epoch]}. dataset_fn builds
    the input pipeline on each worker. Each epoch ends with a line of its training logs
    (Keras' fit prints its own; this loop is not fit), and the Keras ``callbacks`` get
    their train and epoch calls with those logs (e.g. the Trainer's CSVLogger; not their
    batch calls: steps run on the workers).

    validation_data: evaluated on the chief after every epoch (model.test_step, reading
    the variables from the parameter servers), its logs ``val_``-prefixed as fit's, so
    the chief's log and the ModelRun's ``training_log.csv`` carry the validation
    metrics as under the other strategies. (TF's other option, scheduling evaluation on
    the workers, reads a shared split at most once per worker only approximately.)

    backup: a ``training.fault_tolerant_training.StepBackup``: after each step it counts
    as due, the chief waits for the scheduled steps (``coordinator.join``) and writes the
    state, so a restarted chief goes on from that step as under the other strategies.
    """
    strategy = model.distribute_strategy
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    iterator = iter(coordinator.create_per_worker_dataset(dataset_fn))

    @tf.function
    def step(iterator):
        return strategy.run(model.train_step, args=(next(iterator),))

    evaluate = tf.function(model.test_step) if validation_data is not None else None
    if backup is not None:
        backup.set_model(model)
    hooks = keras.callbacks.CallbackList(list(callbacks), model=model)
    hooks.on_train_begin()
    history: dict[str, list[float]] = {}
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        for metric in model.metrics:
            metric.reset_state()
        for _ in range(steps_per_epoch):
            result = coordinator.schedule(step, args=(iterator,))
            if backup is not None and backup.count_step():
                coordinator.join()
                backup.save()
        coordinator.join()
        logs = {name: float(value) for name, value in result.fetch().items()}
        if evaluate is not None:
            logs.update(_validation_logs(model, evaluate, validation_data))
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        detail(f"Epoch {epoch + 1}/{epochs}: {steps_per_epoch} steps on the workers - "
               + " - ".join(f"{name}: {value:.4f}" for name, value in logs.items()))
        hooks.on_epoch_end(epoch, logs)
    hooks.on_train_end(logs or None)
    return history


def _validation_logs(model, evaluate, validation_data) -> dict[str, float]:
    """One pass of ``evaluate`` (the model's test_step) over validation_data on the
    chief, from reset metrics, as Keras' fit validates; names ``val_``-prefixed."""
    for metric in model.metrics:
        metric.reset_state()
    logs = {}
    for batch in validation_data:
        logs = evaluate(batch)
    if not logs:
        raise ValueError("the validation split is empty: parameter_server training has nothing to validate on")
    return {f"val_{name}": float(value) for name, value in logs.items()}
