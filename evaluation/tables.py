"""The paper's tables for a results document, as text (console) or HTML rows.

- Table 2/4 style (one per co-trained variant): rows overall / head / tail / frequency
  buckets; columns top-1 and top-3 of the visual-only model with the same long-tail
  methods (the plain baseline for plain SICoT), of the co-trained model and the gain;
  once per example and once averaged per class.
- Table 3 style (more than two models): one row per model, overall, head and tail
  top-1 and the tail top-1 gain over the plain baseline.
- With a chosen reference variant (``reference_gains``): one row per other model, its
  overall, head and tail top-1 and each one's gain over the reference.
A single model (``sicot run``) gets one table of its slices.
Numbers are percentages, ``mean ± std`` over seeds when there are several; gains add
their 95% interval over the seeds' paired differences, ``[low, high]``, and the tables
of paired gains say how many seeds a paired t test would need for 80% power on the
head and tail top-1 gains (``evaluation/seeds_for_power.py``).
"""

from __future__ import annotations

import dataclasses

from evaluation.acceptance_rule import PENDING, seed_list
from evaluation.run_results import BASELINE
from evaluation.seeds_for_power import MAX_SEEDS, seeds_for_power
from sicot import head_tail


@dataclasses.dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""

    def to_text(self) -> str:
        widths = [max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))]
        line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        out = [self.title, line(self.header), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in self.rows]
        if self.note:
            out.append(self.note)
        return "\n".join(out)


def slice_label(name: str) -> str:
    prefix = f"{head_tail.LABEL_FREQUENCY_BUCKET}:"
    return f"{name[len(prefix):]} train images" if name.startswith(prefix) else name


def percent(stats: dict, signed: bool = False, interval: bool = False) -> str:
    mean, std, n = stats.get("mean"), stats.get("std"), stats.get("n", 0)
    if not n or mean != mean:  # nan
        return "-"
    text = f"{100 * mean:+.1f}" if signed else f"{100 * mean:.1f}"
    text += f" ± {100 * std:.1f}" if n > 1 else ""
    ci = stats.get("ci95")
    if interval and ci:
        text += f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"
    return text


def _sizes(doc: dict, variant: str, slice_name: str) -> str:
    s = doc["summary"][variant][slice_name]
    examples, classes = s["example_count"]["mean"], s["classes"]["mean"]
    return f"{examples:.0f} / {classes:.0f}" if examples == examples else "-"


def _seeds_text(doc: dict, variants: list[str]) -> str:
    """The seeds behind a table of ``variants``. When they differ between its models (an
    archive may hold more seeds of one side), each model's, and gains pair the common ones."""
    by_variant = {v: sorted({m["seed"] for m in doc["models"] if m["variant"] == v}) for v in variants}
    by_variant = {v: seeds for v, seeds in by_variant.items() if seeds}
    if len({tuple(seeds) for seeds in by_variant.values()}) > 1:
        each = "; ".join(f"{v} {seed_list(seeds)}" for v, seeds in by_variant.items())
        return (f"mean ± std over each model's seeds ({each}), gains paired over the seeds both models "
                "have, with their 95% t interval")
    seeds = next(iter(by_variant.values()), doc["seeds"])
    return f"mean ± std over seeds {seeds}, gains with their 95% t interval" if len(seeds) > 1 else f"seed {seeds[0]}"


def _note(doc: dict, averaging: str, variants: list[str] | None = None) -> str:
    return (
        f"{doc.get('split', 'test')} split; {averaging}; head = at least {doc['head_min_train_images']} training images; "
        + _seeds_text(doc, doc["variants"] if variants is None else variants)
    )


def power_note(gains_by_slice: dict) -> str:
    """One line: the seeds for 80% power on the head and tail top-1 gains ('' without seeds)."""
    parts = []
    for s in (head_tail.HEAD, head_tail.TAIL):
        stats = gains_by_slice.get(s, {}).get("top1_accuracy", {})
        if stats.get("n", 0) > 1:
            needed = seeds_for_power(stats["mean"], stats["std"])
            if not needed:
                needed = "none (no gain)" if stats.get("mean") == 0 else f"over {MAX_SEEDS}"
            parts.append(f"{s} top-1 {needed}")
    if not parts:
        return ""
    return ("seeds a paired t test would need for 80% power at the measured mean gain and spread: "
            + ", ".join(parts) + " (a planning estimate)")


def _with_power(note: str, gains_by_slice: dict) -> str:
    power = power_note(gains_by_slice)
    return f"{note}\n{power}" if power else note


def comparison_tables(doc: dict) -> list[Table]:
    """The accuracy tables, then the acceptance rule's verdict when the document has one;
    of a withheld document (a pending rule: results_document.withheld), which models are
    in and the verdict, no accuracy."""
    if doc.get("withheld"):
        return [models_in_table(doc), acceptance_table(doc["acceptance"])]
    tables = _accuracy_tables(doc)
    if doc.get("acceptance"):
        tables.append(acceptance_table(doc["acceptance"]))
    return tables


def models_in_table(doc: dict) -> Table:
    """The seeds each variant of a withheld document has a model of."""
    rows = [[variant, seed_list(sorted(m["seed"] for m in doc["models"] if m["variant"] == variant)),
             str(sum(m["variant"] == variant for m in doc["models"]))]
            for variant in doc["variants"]]
    return Table(
        f"Accuracy withheld: the plan's acceptance rule is pending ({len(doc['models'])} model(s) in, "
        f"{doc['split']} split)",
        ["variant", "seeds in", "models"],
        rows,
        "no accuracy is shown or written until every planned seed has both models, when the plan is read "
        "once (--set compare.acceptance.variant= leaves the rule out and shows them anyway)",
    )


def acceptance_table(verdict: dict) -> Table:
    """The verdict of a comparison's acceptance rule (evaluation/acceptance_rule.py): each
    condition, the gain measured over the planned seeds, whether it holds. A pending rule
    shows no numbers."""
    planned, paired = verdict["planned_seeds"], verdict["paired_seeds"]
    rows = [[c["text"],
             "-" if c["measured"] is None else percent(c["measured"], signed=True, interval=True),
             "not judged" if c["holds"] is None else ("yes" if c["holds"] else "no")]
            for c in verdict["conditions"]]
    if verdict["status"] == PENDING:
        note = (f"{len(paired)} of the {len(planned)} planned seeds have both models"
                + (f" ({seed_list(paired)})" if paired else "")
                + "; judged only when all have, over those seeds only")
    else:
        note = f"gains paired by seed over the {len(planned)} planned seeds, with their 95% t interval"
    return Table(
        f"Acceptance rule: {verdict['variant']} vs {verdict['reference']}, {verdict['metric']} (%), "
        f"seeds {seed_list(planned)}: {verdict['status'].upper()}",
        ["condition", "gain", "holds"],
        rows,
        note,
    )


def _accuracy_tables(doc: dict) -> list[Table]:
    tables = []
    pairs = doc.get("cotraining_gains", {})
    if not pairs and len(doc["variants"]) < 2:
        return single_model_tables(doc)
    for variant, pair in pairs.items():
        reference = pair["reference"]
        for suffix, averaging in (("", "per example"), ("_per_class", "averaged per class")):
            keys = (f"top1_accuracy{suffix}", f"top3_accuracy{suffix}")
            rows = []
            for s in doc["slices"]:
                base, co, gain = doc["summary"][reference][s], doc["summary"][variant][s], pair["slices"][s]
                rows.append(
                    [slice_label(s), _sizes(doc, reference, s)]
                    + [percent(base[k]) for k in keys]
                    + [percent(co[k]) for k in keys]
                    + [percent(gain[k], signed=True, interval=True) for k in keys]
                )
            tables.append(
                Table(
                    f"{reference} vs {variant}: top-1 / top-3 accuracy (%), {averaging}",
                    ["slice", "eval images / classes", f"{reference} top-1", f"{reference} top-3",
                     f"{variant} top-1", f"{variant} top-3", "gain top-1", "gain top-3"],
                    rows,
                    _with_power(_note(doc, averaging, [reference, variant]), pair["slices"])
                    if not suffix else _note(doc, averaging, [reference, variant]),
                )
            )
    if len(doc["variants"]) > 2 or not pairs:
        rows = []
        for variant in doc["variants"]:
            summary = doc["summary"][variant]
            gain = doc["gains"].get(variant, {}).get("tail", {}).get("top1_accuracy", {})
            rows.append(
                [variant]
                + [percent(summary.get(s, {}).get("top1_accuracy", {})) for s in ("overall", "head", "tail")]
                + [percent(summary.get("tail", {}).get("top3_accuracy", {}))]
                + [percent(gain, signed=True, interval=True) if gain else "-"]
            )
        tables.append(
            Table("All models (Table 3 style): accuracy (%)",
                  ["model", "overall top-1", "head top-1", "tail top-1", "tail top-3", "tail top-1 gain over baseline"],
                  rows, _note(doc, "per example"))
        )
    if doc.get("reference_gains"):
        tables.append(reference_table(doc))
    return tables


def reference_table(doc: dict) -> Table:
    """Every model against the chosen reference: top-1 per example and the gains, paired."""
    reference, gains = doc["reference_gains"]["reference"], doc["reference_gains"]["gains"]
    slices = ("overall", "head", "tail")
    rows = [[reference] + [x for s in slices for x in (percent(doc["summary"][reference][s]["top1_accuracy"]), "-")]]
    for variant, by_slice in gains.items():
        rows.append(
            [variant]
            + [x for s in slices for x in (percent(doc["summary"][variant][s]["top1_accuracy"]),
                                           percent(by_slice[s]["top1_accuracy"], signed=True, interval=True))]
        )
    return Table(
        f"Every model against {reference}: top-1 accuracy (%)",
        ["model", "overall", "overall gain", "head", "head gain", "tail", "tail gain"],
        rows,
        _note(doc, "per example"),
    )


def _with_interval(stats: dict, interval) -> str:
    text = percent(stats)
    if interval and stats.get("n") == 1:
        text += f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"
    return text


def single_model_tables(doc: dict) -> list[Table]:
    """One table per variant; with one seed, each accuracy with TFMA's 95% interval over
    the slice's examples."""
    tables = []
    for variant in doc["variants"]:
        summary = doc["summary"][variant]
        own = [m for m in doc["models"] if m["variant"] == variant]
        intervals = own[0].get("intervals", {}) if own else {}
        keys = ("top1_accuracy", "top3_accuracy", "top1_accuracy_per_class", "top3_accuracy_per_class")
        rows = [[slice_label(s), _sizes(doc, variant, s)]
                + [_with_interval(summary[s][k], intervals.get(s, {}).get(k)) for k in keys] for s in doc["slices"]]
        note = _note(doc, "per example and averaged per class", [variant])
        if any(intervals.values()) and len({m["seed"] for m in own}) == 1:
            note += "; [95% interval over the slice's examples, TFMA]"
        tables.append(
            Table(f"{variant}: accuracy (%)",
                  ["slice", "eval images / classes", "top-1", "top-3", "top-1 per class", "top-3 per class"],
                  rows, note)
        )
    return tables
