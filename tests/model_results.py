"""A compared model's results (evaluation/run_results.ModelResult) without a run: three
classes, class 0 the head (90 training images), 1 and 2 tail classes (9 and 1)."""

from __future__ import annotations

import numpy as np

from evaluation.run_results import ModelResult, shared_config_hash, variant_of
from sicot.config import SicotConfig


def model_result(co_training: bool, seed: int, adjustment: str = "none") -> ModelResult:
    config = SicotConfig()
    config.model.co_training = co_training
    config.train.seed = seed
    config.long_tail.adjustment = adjustment
    config.long_tail.adjustment_taus = [0.25, 1.0, 2.0]
    stats = {"example_count": 3.0, "classes": 2.0, "top1_accuracy": 1 / 3, "top3_accuracy": 1.0,
             "top1_accuracy_per_class": 0.5, "top3_accuracy_per_class": 1.0}
    return ModelResult(
        variant=variant_of(config), seed=seed, config_hash=shared_config_hash(config), config=config,
        execution_id=seed, split="test", model_dir=f"/m/{int(co_training)}{seed}/Format-TFMA",
        evaluation_dir="/e", transform_dir="/t", eval_examples_dir="/x/Examples/1/Split-eval", blessed=True,
        slices={"overall": stats}, intervals={"overall": {"top1_accuracy": (0.1, 0.5)}},
        class_hits=np.zeros((0, 4), dtype=np.int64), labels=["shoe", "hat", "cap"],
        train_counts={"shoe": 90, "hat": 9, "cap": 1})
