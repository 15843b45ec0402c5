"""One self-contained HTML report of a results document (opens offline, no server).

The page holds the tables (evaluation/tables.py); matplotlib figures embedded as PNG
data URIs: per-class top-1 accuracy against training-image count (log scale) for each
model, and top-1 / top-3 bars over the slices; the tail classes that gained and lost
most with co-training; and the attention view of the paper's Fig. 7 (each title's
words ordered by attention weight, the three highest in green, the three lowest in
red; not coloured where a title has one word or its words weigh the same, as under the
mean encoder).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from evaluation.run_results import BASELINE
from evaluation.tables import Table, comparison_tables, slice_label

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1150px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
.table-scroll { overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 9px; text-align: right; }
th { background: #f2f4f7; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 0.85em; padding-top: 4px; }
td.gain-pos { color: #137333; font-weight: 600; } td.gain-neg { color: #b3261e; font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.title-row { margin: 0.5em 0; padding: 0.4em 0.6em; background: #fafafa; border-left: 3px solid #ccc; }
.title-row .raw { color: #666; font-size: 0.85em; }
.word { display: inline-block; margin: 2px 3px; padding: 1px 6px; border-radius: 4px; background: #eee; }
.word small { color: #555; margin-left: 3px; }
.word.high { background: #c8ecd0; color: #0b5d1e; } .word.low { background: #f8d0cc; color: #8c1d18; }
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def per_class_accuracy(doc: dict, variant: str) -> dict[int, tuple[str, int, int, int]]:
    """class id -> (label, train count, eval examples, top-1 hits), pooled over seeds."""
    pooled: dict[int, list] = {}
    for model in doc["models"]:
        if model["variant"] != variant:
            continue
        for c in model["classes"]:
            row = pooled.setdefault(c["class_id"], [c["label"], c["train_count"], 0, 0])
            row[2] += c["eval_examples"]
            row[3] += c["top1_hits"]
    return {k: tuple(v) for k, v in pooled.items()}


def _per_class_figure(doc: dict) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    markers = ["o", "s", "^", "D", "v"]
    for i, variant in enumerate(doc["variants"]):
        rows = per_class_accuracy(doc, variant)
        counts = np.array([r[1] for r in rows.values()], dtype=float)
        accuracy = np.array([r[3] / r[2] for r in rows.values()])
        # A little horizontal jitter per model so that equal points stay visible.
        ax.scatter(np.maximum(counts, 1) * (1 + 0.04 * i), 100 * accuracy, s=22, alpha=0.65,
                   marker=markers[i % len(markers)], label=variant)
    ax.axvline(doc["head_min_train_images"], color="#888", ls="--", lw=1)
    ax.text(doc["head_min_train_images"], 103, " head", color="#555", fontsize=8, va="bottom")
    ax.set_xscale("log")
    ax.set_ylim(-3, 110)
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("top-1 accuracy of the class (%)")
    ax.set_title("Per-class top-1 accuracy against training count")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _slice_errors(doc: dict, variant: str, slices: list[str], metric: str, stats: list[dict]) -> np.ndarray:
    """Error bars in points: the std over seeds when there are several, else TFMA's 95%
    interval of the one model (asymmetric), else none."""
    models = [m for m in doc["models"] if m["variant"] == variant]
    errors = np.zeros((2, len(slices)))
    for j, (name, stat) in enumerate(zip(slices, stats)):
        if stat["n"] > 1:
            errors[:, j] = 100 * stat["std"]
        elif len(models) == 1 and metric in models[0].get("intervals", {}).get(name, {}):
            low, high = models[0]["intervals"][name][metric]
            errors[:, j] = [max(0.0, 100 * (stat["mean"] - low)), max(0.0, 100 * (high - stat["mean"]))]
    return errors


def _slice_bars_figure(doc: dict) -> str:
    import matplotlib.pyplot as plt

    slices = doc["slices"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    width = 0.8 / max(1, len(doc["variants"]))
    x = np.arange(len(slices))
    for ax, metric, name in zip(axes, ("top1_accuracy", "top3_accuracy"), ("top-1", "top-3")):
        for i, variant in enumerate(doc["variants"]):
            stats = [doc["summary"][variant][s][metric] for s in slices]
            ax.bar(x + i * width - 0.4 + width / 2, [100 * s["mean"] for s in stats], width,
                   yerr=_slice_errors(doc, variant, slices, metric, stats), capsize=2, label=variant)
        ax.set_xticks(x, [slice_label(s).replace(" train images", "") for s in slices], rotation=20)
        ax.set_title(f"{name} accuracy by slice (%)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    return _png(fig)


def _gains_figure(doc: dict) -> str:
    """Top-1 gain over the baseline per slice, each model a bar with its 95% interval."""
    import matplotlib.pyplot as plt

    slices, variants = doc["slices"], list(doc["gains"])
    fig, ax = plt.subplots(figsize=(11, 3.8))
    width = 0.8 / max(1, len(variants))
    x = np.arange(len(slices))
    for i, variant in enumerate(variants):
        stats = [doc["gains"][variant][s]["top1_accuracy"] for s in slices]
        means = np.array([100 * g["mean"] for g in stats])
        errors = np.array([[100 * (g["mean"] - g["ci95"][0]), 100 * (g["ci95"][1] - g["mean"])] if g.get("ci95")
                           else [0.0, 0.0] for g in stats]).T
        ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=errors, capsize=3, label=variant)
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_xticks(x, [slice_label(s).replace(" train images", "") for s in slices], rotation=20)
    ax.set_ylabel("top-1 gain over baseline (points)")
    ax.set_title("Top-1 gain over the visual-only baseline, paired by seed (95% interval)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def tail_changes(doc: dict, variant: str, limit: int = 10) -> tuple[list, list]:
    """Tail classes with the largest top-1 gain and loss of ``variant`` over the baseline."""
    base, co = per_class_accuracy(doc, BASELINE), per_class_accuracy(doc, variant)
    rows = []
    for class_id, (label, count, examples, hits) in co.items():
        if class_id not in base or count >= doc["head_min_train_images"]:
            continue
        b = base[class_id]
        rows.append((hits / examples - b[3] / b[2], label, count, examples, b[3] / b[2], hits / examples))
    rows.sort(key=lambda r: (-r[0], r[1]))
    gained = [r for r in rows if r[0] > 0][:limit]
    lost = [r for r in reversed(rows) if r[0] < 0][:limit]
    return gained, lost


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for row in table.rows:
        cells = []
        for h, cell in zip(table.header, row):
            cls = ""
            if "gain" in h.split() and cell not in ("-", ""):  # "gain top-1", "tail gain", ...
                cls = ' class="gain-pos"' if cell.startswith("+") and not cell.startswith("+0.0") else (
                    ' class="gain-neg"' if cell.startswith("-") and not cell.startswith("-0.0") else "")
            cells.append(f"<td{cls}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = "<br>".join(html.escape(line) for line in table.note.splitlines())
    caption = f"<caption>{note}</caption>" if table.note else ""
    # Long variant names ("sicot-bilinear_attention+logit_adjusted") make tables wider than
    # the page: they scroll sideways inside their own box instead of overflowing it.
    return (f"<h3>{html.escape(table.title)}</h3><div class='table-scroll'><table class='results'>{caption}"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _changes_html(doc: dict) -> str:
    parts = []
    for variant in [v for v in doc["variants"] if v != BASELINE]:
        if BASELINE not in doc["variants"]:
            break
        gained, lost = tail_changes(doc, variant)
        for title, rows in (("gained most", gained), ("lost most", lost)):
            table = Table(
                f"Tail classes that {title} with {variant} (top-1)",
                ["class", "train images", "eval images", "baseline top-1", f"{variant} top-1", "gain top-1"],
                [[label, str(count), str(examples), f"{100 * b:.0f}", f"{100 * c:.0f}", f"{100 * d:+.0f}"]
                 for d, label, count, examples, b, c in rows],
                "pooled over seeds" if len(doc["seeds"]) > 1 else "",
            )
            parts.append(_table_html(table) if rows else f"<h3>{html.escape(table.title)}</h3><p>none</p>")
    return "\n".join(parts)


# Weights closer than this count as equal: the mean encoder's 1/n in float32, or an
# attention that stayed uniform, which has no highest or lowest word to colour.
_EQUAL_WEIGHTS = 1e-4


def _attention_html(doc: dict) -> str:
    if not doc.get("attention"):
        return "<p>No co-trained model in this run: no title attention to show.</p>"
    rows, uniform, several = [], 0, 0
    for item in doc["attention"]:
        words = item["words"]
        weights = [weight for _, weight in words]
        several += len(words) > 1
        equal = len(words) > 1 and max(weights) - min(weights) < _EQUAL_WEIGHTS
        uniform += equal
        # The three highest green, the three lowest red (a short title splits in halves);
        # none where there is nothing to rank: one word, or every word weighs the same.
        ranked = len(words) > 1 and not equal
        high = min(3, (len(words) + 1) // 2) if ranked else 0
        low = min(3, len(words) - high) if ranked else 0
        spans = []
        for i, (word, weight) in enumerate(words):
            cls = "high" if i < high else ("low" if i >= len(words) - low else "")
            spans.append(f"<span class='word {cls}'>{html.escape(word)}<small>{weight:.2f}</small></span>")
        rows.append(
            f"<div class='title-row'><div class='raw'>{html.escape(item['label'])} · "
            f"{html.escape(item['title'])}</div>{''.join(spans) or '<em>no known word</em>'}</div>"
        )
    first = doc["attention"][0]
    model = f"Model {html.escape(first['variant'])}, seed {first['seed']}: eval titles"
    if uniform and uniform == several:
        caption = (f"{model} and the words each keeps after cleaning. Every title here weighs its words "
                   "equally (1/n): the title encoder does not weight words (the mean encoder, "
                   "model.title_encoder: mean) or its attention stayed uniform, so no word is coloured.")
    else:
        caption = f"{model}, words ordered by attention weight; the three highest in green, the three lowest in red."
        if uniform:
            caption += f" {uniform} of {several} titles weigh their words equally (1/n): not coloured."
    return f"<p>{caption}</p>" + "".join(rows)


def _input_html(data: dict) -> str:
    """The ingest step's counts per split, the rejected rows or skipped examples, the first few."""
    c, rejected = data["counts"], data.get("rejected_by_split", {})
    rows = "".join(f"<tr><td>{split}</td><td>{c.get(split, 0)}</td><td>{rejected.get(split, 0)}</td></tr>"
                   for split in ("train", "validation", "eval"))
    first = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in data["first_rejects"])
    more = c["rejected"] - len(data["first_rejects"])
    return (f"<p>{c['rows']} input rows or examples, {c['rejected']} rejected or skipped; "
            f"report: <code>{html.escape(data['report'])}</code></p>"
            "<table><tr><th>split</th><th>examples</th><th>rejected or skipped</th></tr>" + rows + "</table>"
            + (f"<ul>{first}</ul>" if first else "") + (f"<p>... and {more} more (see the report)</p>" if more > 0 else ""))


def render_report(doc: dict) -> str:
    tables = comparison_tables(doc)
    if doc.get("withheld"):  # a pending acceptance rule: no accuracy, no figures
        sections = ["<h2 id='tables'>A plan in progress</h2>" + "".join(_table_html(t) for t in tables)]
        return _page(doc, sections)
    sections = [
        "<h2 id='tables'>Accuracy tables</h2>" + "".join(_table_html(t) for t in tables),
        "<h2 id='per-class'>Per-class accuracy</h2><figure><img alt='per-class top-1 accuracy against "
        f"training count' src='{_per_class_figure(doc)}'><figcaption>Each point is a class; dashed line: "
        "the head threshold.</figcaption></figure>",
        "<h2 id='slices'>Head, tail and frequency buckets</h2><figure><img alt='accuracy by slice' "
        f"src='{_slice_bars_figure(doc)}'><figcaption>"
        + ("Error bars: standard deviation over seeds." if len(doc["seeds"]) > 1
           else "Error bars: TFMA's 95% interval over the slice's examples (eval.confidence_intervals).")
        + "</figcaption></figure>",
    ]
    if doc.get("gains"):
        sections.append(
            "<h2 id='gains'>Gains over the baseline</h2><figure><img alt='top-1 gain over the baseline by slice' "
            f"src='{_gains_figure(doc)}'><figcaption>"
            + ("Error bars: the 95% Student t interval over the seeds' paired differences."
               if len(doc["seeds"]) > 1 else "One seed: no interval.")
            + "</figcaption></figure>")
    if BASELINE in doc["variants"] and len(doc["variants"]) > 1:
        sections.append("<h2 id='tail-changes'>Tail classes: gains and losses</h2>" + _changes_html(doc))
    sections.append("<h2 id='attention'>Title attention (Fig. 7)</h2>" + _attention_html(doc))
    if doc.get("input"):
        sections.append("<h2 id='input'>Input data</h2>" + _input_html(doc["input"]))
    return _page(doc, sections)


def _page(doc: dict, sections: list[str]) -> str:
    meta = (f"run folder {html.escape(doc['run_dir'])} · models {', '.join(map(html.escape, doc['variants']))} · "
            f"seeds {doc['seeds']} · configuration {doc['config_hash']}")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>sicot evaluation report</title>"
        f"<style>{_CSS}</style></head><body><h1>sicot evaluation report</h1><p class='meta'>{meta}</p>"
        + "\n".join(sections)
        + "</body></html>"
    )


def write_report(doc: dict, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(doc), encoding="utf-8")
    return path
