"""Step time and peak memory of the shared classifier as the class count grows.

    python bench/classifier_scaling.py                          # C = 1e4, 1e5, 1e6; D = 256
    python bench/classifier_scaling.py --classes 10000 --dim 512 --modes full partial_fc

One step = what SicotModel's train step does with the classifier: both heads (visual
and mixed features, [B, D] each) through the same weights, the two softmax
cross-entropies, the backward pass and the SGD (momentum 0.9) update of the classifier.
The features are fixed inputs, so only the classifier is measured. Modes:

- full:        one Dense layer (the default classifier), full softmax
- sharded_2/4: ShardedClassifier over 2/4 logical CPU devices, distributed log-sum-exp
- partial_fc:  partial FC at --ratio (default 0.1), one shard
- cosine, cosine_sharded_4, cosine_partial_fc: the same with the cosine classifier
  (models/cosine_classifier.py: normalised features and weights, CosFace margin)

Each (C, mode) runs in its own process, so its peak RSS (ru_maxrss) is its own; the
table gives the median step time over --steps steps after warm-up, and the ratio to
full FC at the same C. Writes bench/results/classifier_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("full", "sharded_2", "sharded_4", "partial_fc", "cosine", "cosine_sharded_4", "cosine_partial_fc")


def _one(classes: int, mode: str, dim: int, batch: int, steps: int, ratio: float) -> dict:
    """Runs in the child process: builds one classifier and times its steps."""
    import resource

    import tensorflow as tf

    cosine = mode.startswith("cosine")
    base = mode.removeprefix("cosine_") if cosine and mode != "cosine" else ("full" if cosine else mode)
    devices = int(base.split("_")[1]) if base.startswith("sharded") else 1
    if devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    sys.path.insert(0, str(ROOT))
    import keras

    from models.cosine_classifier import CosineClassifier
    from models.sicot_model import SicotModel
    from models.sharded_classifier import ShardedClassifier

    keras.utils.set_random_seed(0)
    if base == "full":
        classifier = CosineClassifier(classes, name="classifier") if cosine else keras.layers.Dense(classes, name="classifier")
    else:
        names = [f"/device:CPU:{i}" for i in range(devices)] if devices > 1 else []
        classifier = ShardedClassifier(classes, devices, names, normalized=cosine, margin=0.1 if cosine else 0.0,
                                       name="classifier")
    model = SicotModel(
        visual=None, classifier=classifier, partial_fc_ratio=ratio if base == "partial_fc" else 1.0, seed=0
    )
    rng = np.random.default_rng(0)
    x_v = tf.constant(np.maximum(rng.normal(size=(batch, dim)), 0), tf.float32)
    x_m = tf.maximum(x_v, tf.constant(np.maximum(rng.normal(size=(batch, dim)), 0), tf.float32))
    y = tf.constant(rng.integers(0, classes, batch), tf.int64)
    classifier.build((batch, dim))
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
    variables = classifier.trainable_variables
    optimizer.build(variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            (visual_ce, mixed_ce), _, _ = model._head_cross_entropies([x_v, x_m], y, training=True)
            loss = tf.reduce_mean(visual_ce) + tf.reduce_mean(mixed_ce)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        step().numpy()
        if i >= 2:  # the first calls trace and allocate
            times.append(time.perf_counter() - start)
    return {
        "classes": classes,
        "mode": mode,
        "dim": dim,
        "batch": batch,
        "ratio": ratio if base == "partial_fc" else 1.0,
        "steps": steps,
        "median_step_s": float(np.median(times)),
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


import numpy as np  # noqa: E402  (the child needs it before TensorFlow's import only in _one)


def _run_child(classes: int, mode: str, args) -> dict:
    command = [
        sys.executable, __file__, "--child", str(classes), mode, "--dim", str(args.dim), "--batch", str(args.batch),
        "--steps", str(args.steps if classes < 10**6 else max(3, args.steps // 2)), "--ratio", str(args.ratio),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
    if result.returncode != 0:
        return {"classes": classes, "mode": mode, "error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _table(rows: list[dict]) -> str:
    lines = [
        "| C | mode | step (ms) | vs its full classifier | peak RSS (GiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    full = {(r["classes"], r["mode"]): r["median_step_s"] for r in rows if "median_step_s" in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['classes']:,} | {r['mode']} | failed: {r['error']} | | |")
            continue
        # Each classifier against its own full step: Dense rows against full, cosine rows against cosine.
        reference = (r["classes"], "cosine" if r["mode"].startswith("cosine") else "full")
        ratio = r["median_step_s"] / full[reference] if reference in full else float("nan")
        lines.append(
            f"| {r['classes']:,} | {r['mode']} | {1000 * r['median_step_s']:.1f} | {ratio:.2f}x | "
            f"{r['peak_rss_gib']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--classes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--ratio", type=float, default=0.1)
    p.add_argument("--timeout", type=int, default=1800)
    p.add_argument("--child", nargs=2, metavar=("CLASSES", "MODE"), help=argparse.SUPPRESS)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "classifier_scaling.json"))
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_one(int(args.child[0]), args.child[1], args.dim, args.batch, args.steps, args.ratio)))
        return 0
    rows = []
    for classes in args.classes:
        for mode in args.modes:
            rows.append(_run_child(classes, mode, args))
            print(json.dumps(rows[-1]), flush=True)
    print(_table(rows))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "args": vars(args)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
