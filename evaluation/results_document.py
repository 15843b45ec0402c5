"""The machine-readable results of a run or a comparison (``results.json``).

Schema ``sicot.results/2`` (all accuracies are fractions in [0, 1]):

```
{
  "schema": "sicot.results/2",
  "run_dir": str,                       # the folder whose ML Metadata was read
  "config_hash": str,                   # hash of the settings every model shares
  "split": str,                         # the scored split: "test" or "validation"
  "head_min_train_images": int, "frequency_buckets": [int, ...],
  "seeds": [int, ...], "variants": [str, ...],   # "baseline", "sicot-<title encoder>", each
                                        # optionally "+<long-tail loss>" "+<re-balancing>"
  "slices": [str, ...],                 # "overall", "head", "tail", "label_frequency_bucket:<b>"
  "models": [{
     "variant": str, "seed": int, "blessed": bool | null,
     "model_dir": str, "evaluation_dir": str,
     "slices": {slice: {"example_count", "classes", "top1_accuracy", "top3_accuracy",
                        "top1_accuracy_per_class", "top3_accuracy_per_class"}},
     "intervals": {slice: {metric: [low, high]}},   # TFMA's 95% interval over the
                                        # slice's examples (eval.confidence_intervals)
     "classes": [{"class_id", "label", "train_count", "eval_examples", "top1_hits", "top3_hits"}]
  }],
  "summary": {variant: {slice: {metric: {"mean", "std", "n", "ci95"}}}},   # over seeds
  "gains":   {variant: {slice: {metric: {"mean", "std", "n", "ci95", "seeds_for_power"}}}},
                                        # variant - baseline, paired by seed
  "cotraining_gains": {variant: {"reference": str, "slices": {slice: {metric: {...}}}}},
                                        # a co-trained variant - the visual-only one with the
                                        # same long-tail methods ("baseline+<methods>"), paired
  "reference_gains": {"reference": str, "gains": {variant: {slice: {metric: {...}}}}},
                                        # only with a chosen reference (``sicot report
                                        # --reference``): every other variant - it, paired
  "attention": [{"variant", "seed", "label", "title", "words": [[word, weight], ...]}],
  "acceptance": {"status": "met" | "not met" | "pending", "variant", "reference", "metric",
                 "planned_seeds": [int, ...], "paired_seeds": [int, ...],
                 "conditions": [{"slice", "kind": "mean" | "interval", "bound", "text",
                                 "measured": {...} | null, "holds": bool | null}]}
                                        # only with an acceptance rule (compare.acceptance;
                                        # evaluation/acceptance_rule.py); pending: no numbers
}
```
While the acceptance rule is pending, the document is ``withheld(document)``: schema,
run_dir, config_hash, split, seeds, variants, the models' ``{"variant", "seed"}`` only,
the acceptance verdict (no numbers) and ``"withheld": true``: a plan is read once, when
every planned seed has both models, and a look at its first models on the way is a
reading of them.
``std`` is the sample standard deviation over seeds (0 for one seed); ``ci95`` the 95%
Student t interval of the mean, ``mean +- t(0.975, n-1) * std / sqrt(n)`` (null for one
seed): for gains, an interval over the seeds' paired differences, and ``seeds_for_power``
the seeds a paired t test would need for 80% power at the measured mean and spread
(``evaluation/seeds_for_power.py``; null with one seed, a zero gain, or over 200).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.run_results import BASELINE, ModelResult, is_visual_only, long_tail_suffix
from evaluation.seeds_for_power import seeds_for_power
from sicot import head_tail

SCHEMA = "sicot.results/2"
ACCURACY_METRICS = ("top1_accuracy", "top3_accuracy", "top1_accuracy_per_class", "top3_accuracy_per_class")


def slice_order(bounds: list[int]) -> list[str]:
    return ["overall", head_tail.HEAD, head_tail.TAIL] + [
        f"{head_tail.LABEL_FREQUENCY_BUCKET}:{b}" for b in head_tail.bucket_names(bounds)
    ]


def _stats(values: list[float]) -> dict:
    values = [v for v in values if v is not None and not np.isnan(v)]
    if not values:
        return {"mean": float("nan"), "std": float("nan"), "n": 0, "ci95": None}
    mean = float(np.mean(values))
    if len(values) < 2:
        return {"mean": mean, "std": 0.0, "n": 1, "ci95": None}
    from scipy import stats

    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * std / np.sqrt(len(values))
    return {"mean": mean, "std": std, "n": len(values), "ci95": [mean - half, mean + half]}


def gain_stats(differences: list[float]) -> dict:
    stats = _stats(differences)
    stats["seeds_for_power"] = seeds_for_power(stats["mean"], stats["std"]) if stats["n"] > 1 else None
    return stats


def paired_gains(models: list[ModelResult], variant: str, reference: str, slices: list[str]) -> dict:
    """variant - reference per slice and accuracy metric, paired by seed."""
    ref = {m.seed: m for m in models if m.variant == reference}
    paired = [(m, ref[m.seed]) for m in models if m.variant == variant and m.seed in ref]
    return {
        s: {k: gain_stats([m.slices.get(s, {}).get(k, np.nan) - b.slices.get(s, {}).get(k, np.nan)
                            for m, b in paired])
            for k in ACCURACY_METRICS}
        for s in slices
    }


def class_rows(model: ModelResult) -> list[dict]:
    rows = []
    for class_id, examples, top1, top3 in model.class_hits.tolist():
        label = model.labels[class_id] if 0 <= class_id < len(model.labels) else str(class_id)
        rows.append(
            {"class_id": class_id, "label": label, "train_count": int(model.train_counts.get(label, 0)),
             "eval_examples": examples, "top1_hits": top1, "top3_hits": top3}
        )
    return rows


def build_results(models: list[ModelResult], run_dir: str, attention: list[dict] | None = None,
                  reference: str | None = None) -> dict:
    """The results document of ``models`` (one configuration; see latest_comparison).

    ``reference``: a variant every other one is also compared with, paired by seed (e.g.
    the best visual-only long-tail method, ``baseline+logit_adjusted``, against every
    co-training combination); the plain baseline stays the reference of ``gains``."""
    config = models[0].config
    slices = [s for s in slice_order(config.eval.frequency_buckets) if any(s in m.slices for m in models)]
    variants = list(dict.fromkeys(m.variant for m in models))
    entries = []
    for m in models:
        entries.append(
            {"variant": m.variant, "seed": m.seed, "blessed": m.blessed, "model_dir": m.model_dir,
             "evaluation_dir": m.evaluation_dir, "slices": {s: m.slices[s] for s in slices if s in m.slices},
             "intervals": {s: {k: list(v) for k, v in m.intervals.get(s, {}).items()} for s in slices},
             "classes": class_rows(m)}
        )
    metrics = ACCURACY_METRICS + ("example_count", "classes")
    summary = {
        v: {s: {k: _stats([m.slices.get(s, {}).get(k) for m in models if m.variant == v]) for k in metrics}
            for s in slices}
        for v in variants
    }
    gains = {v: paired_gains(models, v, BASELINE, slices) for v in variants if v != BASELINE and BASELINE in variants}
    cotraining_gains = {}
    for v in variants:
        visual_only = BASELINE + long_tail_suffix(v)
        if not is_visual_only(v) and visual_only in variants:
            cotraining_gains[v] = {"reference": visual_only, "slices": paired_gains(models, v, visual_only, slices)}
    document = {
        "schema": SCHEMA,
        "run_dir": str(run_dir),
        "config_hash": models[0].config_hash,
        "split": models[0].split,
        "head_min_train_images": config.eval.head_min_train_images,
        "frequency_buckets": list(config.eval.frequency_buckets),
        "seeds": sorted({m.seed for m in models}),
        "variants": variants,
        "slices": slices,
        "models": entries,
        "summary": summary,
        "gains": gains,
        "cotraining_gains": cotraining_gains,
        "attention": attention or [],
    }
    if reference is not None:
        if reference not in variants:
            raise ValueError(f"reference variant {reference!r} is not among the compared models: {', '.join(variants)}")
        document["reference_gains"] = {
            "reference": reference,
            "gains": {v: paired_gains(models, v, reference, slices) for v in variants if v != reference},
        }
    return document


WITHHELD_KEYS = ("schema", "run_dir", "config_hash", "split", "seeds", "variants", "acceptance")


def withheld(document: dict) -> dict:
    """``document`` with every accuracy left out: which models are in, and the pending
    verdict (see the module docstring)."""
    kept = {key: document[key] for key in WITHHELD_KEYS if key in document}
    kept["models"] = [{"variant": m["variant"], "seed": m["seed"]} for m in document["models"]]
    kept["withheld"] = True
    return kept


def write_results(document: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, allow_nan=True))
    return path
