"""A small, deterministic SICoT training run, for the distributed and fault-tolerance tests.

    python tests/training_job.py OUT_DIR [--logical-cpus N] [--step-delay S] [--epoch-delay S] [--validation]
                                 [--set section.key=value ...]

Trains the tiny co-training model (tiny_cnn, no BatchNorm, no dropout, no shuffling or
augmentation: the same batches in the same order in every run) through
training/phased_fit.fit_with_warmup under the configured strategy (TF_CONFIG gives the
cluster), with the backups of train.checkpoint_every_steps in OUT_DIR/backup (a
multi-worker task but the chief: OUT_DIR/backup/<task>_<index>) and, with
--validation, a validation split of 16 other examples. The chief (or the only process)
writes OUT_DIR/weights.npz (every variable of the model by layer/name) and
OUT_DIR/result.json (steps trained, the per-epoch logs, where the classifier shards live).
Worker and ps tasks of a parameter-server cluster only serve.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = (
    "model.backbone=tiny_cnn",
    "model.feature_dim=8",
    "model.dropout=0.0",
    "model.attention_rank=4",
    "preprocessing.image_size=8",
    "preprocessing.max_title_tokens=4",
    "train.optimizer=sgd",
    "train.learning_rate=0.1",
    "train.momentum=0.9",
    "train.lr_decay_gamma=1.0",
    "train.batch_size=8",
    "train.epochs=2",
    "train.steps_per_epoch=6",
    "train.verbose=0",
)
NUM_CLASSES, VOCAB, EXAMPLES = 6, 10, 48


def dataset(config, validation: bool = False):
    """The training batches (repeated), or with validation the 16 examples of the
    validation split, once."""
    import numpy as np
    import tensorflow as tf

    from models import features

    rng = np.random.default_rng(8 if validation else 7)
    examples = 16 if validation else EXAMPLES
    size, tokens = config.preprocessing.image_size, config.preprocessing.max_title_tokens
    labels = np.arange(examples) % NUM_CLASSES
    pixels = (rng.uniform(-1, 1, (examples, size, size, 3)) + labels[:, None, None, None] * 0.1).astype("float32")
    ids = rng.integers(1, VOCAB, (examples, tokens)).astype("int64")
    data = tf.data.Dataset.from_tensor_slices(({features.IMAGE_PIXELS: pixels, features.TITLE_TOKEN_IDS: ids}, labels))
    if validation:
        return data.batch(config.train.batch_size)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.repeat().batch(config.train.batch_size).with_options(options)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--logical-cpus", type=int, default=0)
    p.add_argument("--step-delay", type=float, default=0.0, help="sleep after each step (to be killed mid-run)")
    p.add_argument("--epoch-delay", type=float, default=0.0,
                   help="sleep after each epoch (parameter_server: steps run on the workers, not in callbacks)")
    p.add_argument("--validation", action="store_true", help="validate after every epoch")
    args = p.parse_args(argv)
    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
    import keras
    import numpy as np
    keras.config.disable_traceback_filtering()

    from training.distribution import is_chief, serve_cluster_task, strategy_from_config, task_path
    from models.sicot_model import build_sicot_model
    from training.phased_fit import fit_with_warmup
    from sicot.config import load_config

    config = load_config(None, [*SETTINGS, *args.overrides])
    if serve_cluster_task(config):
        return 0
    strategy = strategy_from_config(config)
    keras.utils.set_random_seed(config.train.seed)
    with strategy.scope():
        model = build_sicot_model(config, NUM_CLASSES, VOCAB)
    callbacks = []
    if args.step_delay:
        callbacks.append(keras.callbacks.LambdaCallback(on_train_batch_end=lambda *_, **__: time.sleep(args.step_delay)))
    if args.epoch_delay:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda *_, **__: time.sleep(args.epoch_delay)))
    out = Path(args.out)
    history = fit_with_warmup(
        model, config, lambda: dataset(config), dataset(config, validation=True) if args.validation else None,
        config.train.steps_per_epoch, callbacks, backup_dir=task_path(str(out / "backup"))
    )
    if not is_chief():
        return 0
    out.mkdir(parents=True, exist_ok=True)
    # Keyed by layer/variable name: paths gain a prefix when built under a strategy scope.
    np.savez(out / "weights.npz", **{"/".join(v.path.split("/")[-2:]): np.asarray(v.numpy()) for v in model.weights})
    classifier = model.classifier
    result = {
        "iterations": int(model.optimizer.iterations.numpy()),
        "epochs_logged": len(history.history.get("loss", [])),
        "history": history.history,
        "replicas": strategy.num_replicas_in_sync,
        "kernel_devices": [k.value.device for k in getattr(classifier, "kernels", [])],
        "chief": is_chief(),
        "pid": os.getpid(),
    }
    (out / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
