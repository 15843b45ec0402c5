"""The results document, the tables and the HTML report, on hand-made model results."""

import base64
import json
import re

import numpy as np
import pytest

from evaluation.html_report import render_report, tail_changes
from evaluation.results_document import SCHEMA, build_results, write_results
from evaluation.run_results import ModelResult, latest_comparison, shared_config_hash, variant_of
from evaluation.tables import comparison_tables
from sicot.config import SicotConfig

LABELS = ["shoe", "bag", "hat", "cup"]
TRAIN_COUNTS = {"shoe": 40, "bag": 12, "hat": 4, "cup": 2}


def model(co_training: bool, seed: int, overall_top1: float, tail_top1: float, hits, execution_id=1) -> ModelResult:
    config = SicotConfig()
    config.model.co_training = co_training
    config.train.seed = seed
    config.eval.frequency_buckets = [5, 20]
    slices = {
        "overall": {"example_count": 10.0, "classes": 4.0, "top1_accuracy": overall_top1, "top3_accuracy": 0.9,
                    "top1_accuracy_per_class": overall_top1 - 0.1, "top3_accuracy_per_class": 0.8},
        "head": {"example_count": 4.0, "classes": 1.0, "top1_accuracy": 0.75, "top3_accuracy": 1.0,
                 "top1_accuracy_per_class": 0.75, "top3_accuracy_per_class": 1.0},
        "tail": {"example_count": 6.0, "classes": 3.0, "top1_accuracy": tail_top1, "top3_accuracy": 0.8,
                 "top1_accuracy_per_class": tail_top1, "top3_accuracy_per_class": 0.8},
    }
    return ModelResult(
        variant=variant_of(config), seed=seed, config_hash=shared_config_hash(config), config=config,
        execution_id=execution_id, split="test", model_dir=f"/m/{seed}", evaluation_dir=f"/e/{seed}",
        transform_dir="/t",
        eval_examples_dir="/x", blessed=None, slices=slices,
        intervals={"tail": {"top1_accuracy": (tail_top1 - 0.1, tail_top1 + 0.1)}},
        class_hits=np.array(hits), labels=LABELS,
        train_counts=TRAIN_COUNTS,
    )


BASE_HITS = [[0, 4, 3, 4], [1, 3, 1, 2], [2, 2, 1, 2], [3, 1, 0, 1]]
CO_HITS = [[0, 4, 3, 4], [1, 3, 2, 3], [2, 2, 0, 2], [3, 1, 1, 1]]


@pytest.fixture
def doc():
    models = [
        model(False, 1, 0.50, 0.30, BASE_HITS), model(True, 1, 0.60, 0.45, CO_HITS),
        model(False, 2, 0.40, 0.20, BASE_HITS), model(True, 2, 0.44, 0.25, CO_HITS),
    ]
    return build_results(models, "/runs/x", attention=[
        {"variant": "sicot-mean", "seed": 1, "label": "shoe", "title": "red running shoe men",
         "words": [["shoe", 0.4], ["running", 0.3], ["red", 0.2], ["men", 0.06], ["size", 0.04]]}])


def test_summary_is_mean_and_sample_std_over_seeds(doc):
    s = doc["summary"]["baseline"]["overall"]["top1_accuracy"]
    half = 12.7062 * np.std([0.5, 0.4], ddof=1) / np.sqrt(2)  # t(0.975, 1 degree of freedom)
    assert s == {"mean": pytest.approx(0.45), "std": pytest.approx(np.std([0.5, 0.4], ddof=1)), "n": 2,
                 "ci95": [pytest.approx(0.45 - half, abs=1e-4), pytest.approx(0.45 + half, abs=1e-4)]}
    assert doc["summary"]["sicot-mean"]["tail"]["top1_accuracy"]["mean"] == pytest.approx(0.35)


def test_gains_are_paired_by_seed(doc):
    g = doc["gains"]["sicot-mean"]["tail"]["top1_accuracy"]
    assert g["mean"] == pytest.approx((0.15 + 0.05) / 2)
    assert g["std"] == pytest.approx(np.std([0.15, 0.05], ddof=1))
    assert "baseline" not in doc["gains"]
    # d = 0.10 / 0.0707 = 1.41: 7 seeds give a paired t test 80% power, 6 do not.
    assert g["seeds_for_power"] == 7
    assert doc["gains"]["sicot-mean"]["head"]["top1_accuracy"]["seeds_for_power"] is None  # no gain


def test_document_schema_and_class_rows(doc, tmp_path):
    assert doc["schema"] == SCHEMA and doc["seeds"] == [1, 2]
    assert doc["variants"] == ["baseline", "sicot-mean"]
    assert doc["slices"] == ["overall", "head", "tail"]  # buckets absent from the evaluation are left out
    rows = doc["models"][1]["classes"]
    assert rows[1] == {"class_id": 1, "label": "bag", "train_count": 12, "eval_examples": 3, "top1_hits": 2,
                       "top3_hits": 3}
    path = write_results(doc, tmp_path / "results.json")
    assert json.loads(path.read_text())["gains"].keys() == {"sicot-mean"}


def test_comparison_table_rows_and_gain_signs(doc):
    per_example = comparison_tables(doc)[0]
    assert per_example.header[2:] == ["baseline top-1", "baseline top-3", "sicot-mean top-1",
                                      "sicot-mean top-3", "gain top-1", "gain top-3"]
    rows = {r[0]: r for r in per_example.rows}
    assert list(rows) == ["overall", "head", "tail"]
    assert rows["overall"][2] == "45.0 ± 7.1"  # baseline top-1 over seeds 1, 2
    # gains (0.15, 0.05): mean 0.10, interval 0.10 +- 12.706 * 0.0707 / sqrt(2)
    assert rows["tail"][6] == "+10.0 ± 7.1 [-53.5, +73.5]"
    assert rows["head"][6] == "+0.0 ± 0.0 [+0.0, +0.0]"
    assert "tail" in per_example.to_text() and "mean ± std over seeds [1, 2]" in per_example.to_text()
    assert per_example.note.endswith("80% power at the measured mean gain and spread: head top-1 none (no gain), "
                                     "tail top-1 7 (a planning estimate)")
    assert "power" not in comparison_tables(doc)[1].note  # once, under the per-example table
    assert "averaged per class" in comparison_tables(doc)[1].title


def with_method(m: ModelResult, loss: str) -> ModelResult:
    """``m`` trained with the long-tail loss ``loss`` (its variant name follows)."""
    m.config.long_tail.loss = loss
    m.variant = variant_of(m.config)
    return m


def test_cotrained_long_tail_variants_are_paired_with_the_visual_only_one_of_the_same_method():
    models = [model(False, 1, 0.50, 0.30, BASE_HITS), model(True, 1, 0.60, 0.45, CO_HITS),
              with_method(model(False, 1, 0.52, 0.40, BASE_HITS), "logit_adjusted"),
              with_method(model(True, 1, 0.58, 0.43, CO_HITS), "logit_adjusted")]
    doc = build_results(models, "/runs/x")
    pair = doc["cotraining_gains"]["sicot-mean+logit_adjusted"]
    assert pair["reference"] == "baseline+logit_adjusted"
    assert pair["slices"]["tail"]["top1_accuracy"]["mean"] == pytest.approx(0.03)
    assert doc["gains"]["sicot-mean+logit_adjusted"]["tail"]["top1_accuracy"]["mean"] == pytest.approx(0.13)
    titles = [t.title for t in comparison_tables(doc)]
    assert titles[2].startswith("baseline+logit_adjusted vs sicot-mean+logit_adjusted")
    assert titles[-1].startswith("All models")


def test_tail_changes_by_hand(doc):
    gained, lost = tail_changes(doc, "sicot-mean")
    # Tail (fewer than 30 training images): bag 1/3 -> 2/3, cup 0 -> 1, hat 1/2 -> 0.
    assert [(r[1], round(r[0], 3)) for r in gained] == [("cup", 1.0), ("bag", 0.333)]
    assert [(r[1], r[0]) for r in lost] == [("hat", -0.5)]


def test_latest_comparison_keeps_the_newest_configuration():
    old = model(False, 1, 0.1, 0.1, BASE_HITS, execution_id=1)
    old.config_hash = "older"
    newer = [model(False, 1, 0.2, 0.1, BASE_HITS, 2), model(True, 1, 0.3, 0.1, CO_HITS, 3),
             model(False, 1, 0.25, 0.1, BASE_HITS, 4)]
    kept = latest_comparison([old, *newer])
    assert [(m.variant, m.execution_id) for m in kept] == [("baseline", 4), ("sicot-mean", 3)]


def test_report_is_self_contained_with_figures_tables_and_attention(doc):
    import matplotlib

    matplotlib.use("Agg")
    page = render_report(doc)
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3  # per class, by slice, gains
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert "http://" not in page and "https://" not in page  # opens offline
    assert page.count("<table class='results'>") == len(comparison_tables(doc)) + 2  # + gained / lost
    # The power line stands on a line of its own under the table's note.
    assert "gains with their 95% t interval<br>seeds a paired t test would need" in page
    # Fig. 7 view: the three highest words green, the three lowest red (5 words: 3 high, 2 low).
    classes = re.findall(r"<span class='word (\w*)'>(\w+)<small>", page)
    assert classes == [("high", "shoe"), ("high", "running"), ("high", "red"), ("low", "men"), ("low", "size")]


def test_one_model_table_shows_tfmas_interval():
    from evaluation.tables import single_model_tables

    doc = build_results([model(True, 1, 0.6, 0.45, CO_HITS)], "/runs/x")
    assert doc["models"][0]["intervals"]["tail"]["top1_accuracy"] == [pytest.approx(0.35), pytest.approx(0.55)]
    (table,) = single_model_tables(doc)
    rows = {r[0]: r for r in table.rows}
    assert rows["tail"][2] == "45.0 [35.0, 55.0]" and rows["overall"][2] == "60.0"
    assert "95% interval over the slice's examples" in table.note


def test_a_chosen_reference_is_compared_with_every_other_model_paired_by_seed():
    models = [model(False, 1, 0.50, 0.30, BASE_HITS), model(True, 1, 0.60, 0.45, CO_HITS),
              with_method(model(False, 1, 0.52, 0.40, BASE_HITS), "logit_adjusted"),
              model(False, 2, 0.40, 0.20, BASE_HITS), model(True, 2, 0.44, 0.25, CO_HITS),
              with_method(model(False, 2, 0.46, 0.35, BASE_HITS), "logit_adjusted")]
    doc = build_results(models, "/runs/x", reference="baseline+logit_adjusted")
    ref = doc["reference_gains"]
    assert ref["reference"] == "baseline+logit_adjusted"
    assert list(ref["gains"]) == ["baseline", "sicot-mean"]
    # co-trained minus the logit-adjusted baseline, seed by seed: 0.45 - 0.40, 0.25 - 0.35
    tail = ref["gains"]["sicot-mean"]["tail"]["top1_accuracy"]
    assert tail["mean"] == pytest.approx(-0.025) and tail["std"] == pytest.approx(np.std([0.05, -0.10], ddof=1))
    assert doc["gains"]["sicot-mean"]["tail"]["top1_accuracy"]["mean"] == pytest.approx(0.10)
    table = comparison_tables(doc)[-1]
    assert table.title == "Every model against baseline+logit_adjusted: top-1 accuracy (%)"
    assert [r[0] for r in table.rows] == ["baseline+logit_adjusted", "baseline", "sicot-mean"]
    assert table.rows[0][5:7] == ["37.5 ± 3.5", "-"]
    assert table.rows[2][5:7] == ["35.0 ± 14.1", "-2.5 ± 10.6 [-97.8, +92.8]"]
    assert "reference_gains" not in build_results(models, "/runs/x")
    with pytest.raises(ValueError, match="'sicot-bilstm' is not among the compared models"):
        build_results(models, "/runs/x", reference="sicot-bilstm")
