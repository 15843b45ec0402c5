"""``sicot pair A B``: one variant of one results.json against one of another, paired by seed.

A report shows one plan: one set of shared settings and one setting of the semantic
stream per co-trained variant name (evaluation/report.py). Two plans that differ in
what no variant name carries (lambda, the distillation weight, a training length of
both sides...) are two reports, and their gains are paired here, from the two
``results.json`` files (evaluation/results_document.py), by seed: for each slice both
documents share, the per-seed difference of top-1 and top-3 (per example and averaged
per class), its mean, sample standard deviation and 95% t interval
(results_document.paired_gains, the same statistics as a report's gains).

Refused, with the reason: a document whose accuracy is withheld (a pending acceptance
rule), a variant a document does not hold (or, unnamed, more than one candidate), two
documents scored on different splits, and a slice the two scored on different
examples (its example count differs at a seed): such models were not evaluated on the
same photos, and a difference of their accuracies is not a paired gain.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from evaluation.results_document import ACCURACY_METRICS, paired_gains
from evaluation.run_results import BASELINE
from evaluation.tables import Table, percent, slice_label


class PairingError(ValueError):
    pass


@dataclasses.dataclass
class Side:
    path: str
    variant: str
    by_seed: dict  # seed -> {slice: {metric: value}}


@dataclasses.dataclass
class _Scored:
    """One side's model at one seed, as results_document.paired_gains reads a model."""
    variant: str
    seed: int
    slices: dict


@dataclasses.dataclass
class Pairing:
    a: Side
    b: Side
    split: str
    seeds: list[int]  # paired
    unpaired: dict[str, list[int]]  # path -> seeds only it has
    gains: dict  # slice -> metric -> gain_stats (a - b)
    means: dict  # slice -> metric -> (mean of a, mean of b) over the paired seeds


def read_side(path: str | Path, variant: str | None) -> tuple[Side, dict]:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PairingError(f"{path}: no such results file (sicot report writes one)") from None
    except json.JSONDecodeError as e:
        raise PairingError(f"{path}: not a results.json ({e})") from None
    if doc.get("withheld"):
        raise PairingError(f"{path}: its accuracy is withheld (the plan's acceptance rule is pending); "
                           "nothing to pair until the plan is complete")
    variants = doc.get("variants") or []
    if variant is None:
        candidates = [v for v in variants if v != BASELINE] or variants
        if len(candidates) != 1:
            raise PairingError(f"{path}: name the variant to pair (it holds {', '.join(variants)})")
        variant = candidates[0]
    if variant not in variants:
        raise PairingError(f"{path}: no variant {variant!r} (it holds {', '.join(variants)})")
    by_seed = {m["seed"]: m["slices"] for m in doc["models"] if m["variant"] == variant}
    return Side(str(path), variant, by_seed), doc


def pair(path_a: str | Path, path_b: str | Path, variant_a: str | None = None,
         variant_b: str | None = None) -> Pairing:
    a, doc_a = read_side(path_a, variant_a)
    b, doc_b = read_side(path_b, variant_b)
    if doc_a.get("split") != doc_b.get("split"):
        raise PairingError(f"{a.path} is scored on the {doc_a.get('split')} split and {b.path} on the "
                           f"{doc_b.get('split')} split: no pairs")
    seeds = sorted(set(a.by_seed) & set(b.by_seed))
    if not seeds:
        raise PairingError(f"no seed has both models ({a.variant} of {a.path}: seeds {sorted(a.by_seed)}; "
                           f"{b.variant} of {b.path}: seeds {sorted(b.by_seed)})")
    slices = [s for s in doc_a.get("slices", []) if s in doc_b.get("slices", [])
              and all(s in a.by_seed[k] and s in b.by_seed[k] for k in seeds)]
    for s in slices:
        for seed in seeds:
            na, nb = a.by_seed[seed][s].get("example_count"), b.by_seed[seed][s].get("example_count")
            if na != nb:
                raise PairingError(f"slice {s!r} at seed {seed}: {na} examples in {a.path} and {nb} in {b.path}; "
                                   "the models were not scored on the same photos")
    # The two sides under names of their own (both may be called, say, sicot-mean), paired
    # by results_document.paired_gains as a report pairs two variants.
    scored = [_Scored(name, seed, side.by_seed[seed]) for name, side in (("A", a), ("B", b)) for seed in seeds]
    gains = paired_gains(scored, "A", "B", slices)
    means = {s: {k: (sum(a.by_seed[seed][s][k] for seed in seeds) / len(seeds),
                     sum(b.by_seed[seed][s][k] for seed in seeds) / len(seeds))
                 for k in ACCURACY_METRICS} for s in slices}
    unpaired = {side.path: sorted(set(side.by_seed) - set(seeds)) for side in (a, b)}
    return Pairing(a, b, doc_a["split"], seeds, {p: s for p, s in unpaired.items() if s}, gains, means)


def pairing_tables(p: Pairing) -> list[Table]:
    tables = []
    for suffix, averaging in (("", "per example"), ("_per_class", "averaged per class")):
        top1, top3 = f"top1_accuracy{suffix}", f"top3_accuracy{suffix}"
        rows = []
        for s, gains in p.gains.items():
            a1, b1 = p.means[s][top1]
            per_seed = ", ".join(f"{100 * (p.a.by_seed[k][s][top1] - p.b.by_seed[k][s][top1]):+.1f}" for k in p.seeds)
            rows.append([slice_label(s), f"{100 * a1:.1f}", f"{100 * b1:.1f}",
                         percent(gains[top1], signed=True, interval=True), per_seed,
                         percent(gains[top3], signed=True, interval=True)])
        note = (f"{p.split} split; {averaging}; A = {p.a.variant} of {p.a.path}, B = {p.b.variant} of {p.b.path}; "
                f"means over the paired seeds {p.seeds}; gains A - B paired by seed, with their 95% t interval")
        if p.unpaired:
            note += "; left out, without a pair: " + "; ".join(f"{path} seeds {s}" for path, s in p.unpaired.items())
        tables.append(Table(f"{p.a.variant} (A) vs {p.b.variant} (B): top-1 / top-3 accuracy (%), {averaging}",
                            ["slice", "A top-1", "B top-1", "gain top-1", "per seed", "gain top-3"], rows, note))
    return tables
