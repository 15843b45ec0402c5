"""Training step time of SICoT co-training against the visual-only baseline.

    python bench/cotraining_step_time.py                     # small_resnet, 48 px, batch 64
    python bench/cotraining_step_time.py --backbone resnet50 --image-size 224 --batch 32

Both models share the backbone, batch, optimizer (the configured one:
train.optimizer, train.row_sparse_updates) and image size; the co-training step
adds, at today's defaults, the title stream (embedding, title encoder), a second pass
through the shared classifier and the default training-only terms (stream alignment,
title word prediction, mixed-stream distillation). Steps of the two models are interleaved so that machine noise
hits both alike; the ratio of median step times is reported (target: <= 1.15).
Writes bench/results/cotraining_step_time.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sicot.console import quiet_libraries  # noqa: E402

quiet_libraries()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from models import features  # noqa: E402
from models.sicot_model import build_sicot_model  # noqa: E402
from sicot.config import load_config  # noqa: E402
from training.learning_rate_schedule import make_optimizer  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", default="small_resnet")
    p.add_argument("--image-size", type=int, default=48)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--feature-dim", type=int, default=256)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--vocab", type=int, default=20000)
    p.add_argument("--title-tokens", type=int, default=16)
    p.add_argument("--encoder", default=None, help="the title encoder (default: today's default, model.title_encoder)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a configuration override for both models, e.g. model.mixed_distillation_weight=0 (repeat)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "cotraining_step_time.json"))
    args = p.parse_args(argv)
    args.encoder = args.encoder or load_config(None, args.overrides).model.title_encoder

    rng = np.random.default_rng(0)
    x = {
        features.IMAGE_PIXELS: tf.constant(rng.uniform(-1, 1, (args.batch, args.image_size, args.image_size, 3)),
                                           tf.float32),
        features.TITLE_TOKEN_IDS: tf.constant(rng.integers(1, args.vocab, (args.batch, args.title_tokens)), tf.int64),
    }
    y = tf.constant(rng.integers(0, args.classes, args.batch), tf.int64)
    models = {}
    for mode, co in (("baseline", "false"), ("cotraining", "true")):
        config = load_config(None, [
            f"model.backbone={args.backbone}", f"preprocessing.image_size={args.image_size}",
            f"model.feature_dim={args.feature_dim}", f"preprocessing.max_title_tokens={args.title_tokens}",
            f"model.co_training={co}", f"model.title_encoder={args.encoder}", *args.overrides,
        ])
        model = build_sicot_model(config, args.classes, args.vocab)
        model.compile(optimizer=make_optimizer(config, steps_per_epoch=100))
        model.make_train_function()
        step = model.train_function
        for _ in range(3):  # trace and warm up
            step(iter([(x, y)]))
        models[mode] = step
    times = {m: [] for m in models}
    for _ in range(args.steps):
        for mode, step in models.items():
            start = time.perf_counter()
            logs = step(iter([(x, y)]))
            float(logs["loss"])  # wait for the step to finish
            times[mode].append(time.perf_counter() - start)
    median = {m: float(np.median(t)) for m, t in times.items()}
    ratio = median["cotraining"] / median["baseline"]
    result = {"args": vars(args), "median_step_seconds": median, "ratio": ratio, "target": 1.15}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"{args.backbone} {args.image_size}px batch {args.batch}, {args.classes} classes, D={args.feature_dim}, "
          f"encoder {args.encoder}{''.join(' ' + o for o in args.overrides)}: baseline {1000 * median['baseline']:.1f} ms/step, co-training "
          f"{1000 * median['cotraining']:.1f} ms/step, ratio {ratio:.3f} (target <= 1.15)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
