"""The paper's tables from hand-written results documents (evaluation/results_document.py
schema): cell formatting, which tables a document gets, and their rows."""

import pytest

from evaluation.tables import Table, comparison_tables, percent, single_model_tables, slice_label

NAN = float("nan")
METRICS = ("top1_accuracy", "top3_accuracy", "top1_accuracy_per_class", "top3_accuracy_per_class")


def st(mean, std=0.0, n=1, ci=None) -> dict:
    return {"mean": mean, "std": std, "n": n, "ci95": ci}


def summary_slice(values, examples=100.0, classes=10.0, std=0.0, n=1) -> dict:
    """values: the four accuracies (METRICS order)."""
    out = {k: st(v, std, n) for k, v in zip(METRICS, values)}
    out["example_count"] = st(examples, 0.0, n)
    out["classes"] = st(classes, 0.0, n)
    return out


def gain_slice(mean, std, low, high, n=2) -> dict:
    return {k: st(mean, std, n, [low, high]) for k in METRICS}


def document(variants, summary, seeds=(1,), slices=("overall", "tail"), gains=None, cotraining=None, models=None,
             split="test") -> dict:
    return {
        "split": split, "seeds": list(seeds), "head_min_train_images": 20, "variants": list(variants),
        "slices": list(slices), "summary": summary, "gains": gains or {}, "cotraining_gains": cotraining or {},
        "models": models or [{"variant": v, "seed": s, "intervals": {}} for v in variants for s in seeds],
    }


# -- cells ---------------------------------------------------------------------------


@pytest.mark.parametrize("stats, kwargs, text", [
    (st(0.4567), {}, "45.7"),
    (st(0.99951), {}, "100.0"),
    (st(0.5, 0.0707, 2), {}, "50.0 ± 7.1"),
    (st(0.05), {"signed": True}, "+5.0"),
    (st(-0.05), {"signed": True}, "-5.0"),
    (st(0.0, 0.0, 3), {"signed": True}, "+0.0 ± 0.0"),
    (st(0.1, 0.0707, 2, [-0.535, 0.735]), {"signed": True, "interval": True}, "+10.0 ± 7.1 [-53.5, +73.5]"),
    (st(0.1, 0.0707, 2, [-0.535, 0.735]), {"signed": True}, "+10.0 ± 7.1"),  # no interval unless asked
    (st(0.1, 0.0, 1, None), {"interval": True}, "10.0"),  # no interval with one seed
    (st(0.1, 0.02, 2, [0.08, 0.12]), {"interval": True}, "10.0 ± 2.0 [+8.0, +12.0]"),  # the interval is signed
    (st(NAN, NAN, 0), {}, "-"),
    (st(NAN, 0.0, 2), {"signed": True}, "-"),
    ({}, {}, "-"),
    ({"mean": 0.5}, {}, "-"),  # no n: no value
])
def test_percent_cells(stats, kwargs, text):
    assert percent(stats, **kwargs) == text


@pytest.mark.parametrize("name, label", [
    ("overall", "overall"),
    ("tail", "tail"),
    ("label_frequency_bucket:1-5", "1-5 train images"),
    ("label_frequency_bucket:>100", ">100 train images"),
    ("label_group:tail", "label_group:tail"),
])
def test_slice_labels(name, label):
    assert slice_label(name) == label


def test_table_text_aligns_the_first_column_left_and_the_others_right():
    table = Table("Title", ["slice", "a", "long header"], [["overall", "1.0", "x"], ["tail", "12.5", "-"]], "a note")
    assert table.to_text() == "\n".join([
        "Title",
        "slice       a  long header",
        "-------  ----  -----------",
        "overall   1.0            x",
        "tail     12.5            -",
        "a note",
    ])
    assert Table("T", ["h"], [["v"]]).to_text() == "T\nh\n-\nv"  # no note, no line for it


# -- which tables ----------------------------------------------------------------------


def test_one_model_gets_one_table_of_its_slices_with_tfmas_intervals():
    doc = document(
        ["sicot-mean"],
        {"sicot-mean": {"overall": summary_slice([0.6, 0.8, 0.5, 0.7], 120, 12),
                        "label_frequency_bucket:1-5": summary_slice([0.25, 0.5, NAN, 0.4], 8, 3)}},
        seeds=[3], slices=["overall", "label_frequency_bucket:1-5"],
        models=[{"variant": "sicot-mean", "seed": 3,
                 "intervals": {"overall": {"top1_accuracy": [0.5, 0.7], "top3_accuracy_per_class": [0.61, 0.79]},
                               "label_frequency_bucket:1-5": {}}}],
    )
    (table,) = comparison_tables(doc)
    assert table.title == "sicot-mean: accuracy (%)"
    assert table.header == ["slice", "eval images / classes", "top-1", "top-3", "top-1 per class", "top-3 per class"]
    assert table.rows == [
        ["overall", "120 / 12", "60.0 [50.0, 70.0]", "80.0", "50.0", "70.0 [61.0, 79.0]"],
        ["1-5 train images", "8 / 3", "25.0", "50.0", "-", "40.0"],
    ]
    assert table.note == ("test split; per example and averaged per class; head = at least 20 training images; "
                          "seed 3; [95% interval over the slice's examples, TFMA]")
    assert single_model_tables(doc)[0].rows == table.rows


def test_one_model_over_several_seeds_shows_mean_and_std_without_tfmas_interval():
    doc = document(
        ["baseline"], {"baseline": {"overall": summary_slice([0.6, 0.8, 0.5, 0.7], NAN, NAN, std=0.05, n=2),
                                    "tail": summary_slice([0.3, 0.4, 0.2, 0.3], 40, 7, std=0.1, n=2)}},
        seeds=[1, 2], split="validation",
        models=[{"variant": "baseline", "seed": 1, "intervals": {"overall": {"top1_accuracy": [0.5, 0.7]}}},
                {"variant": "baseline", "seed": 2, "intervals": {}}],
    )
    (table,) = comparison_tables(doc)
    assert table.rows == [
        ["overall", "-", "60.0 ± 5.0", "80.0 ± 5.0", "50.0 ± 5.0", "70.0 ± 5.0"],  # no example count: "-"
        ["tail", "40 / 7", "30.0 ± 10.0", "40.0 ± 10.0", "20.0 ± 10.0", "30.0 ± 10.0"],
    ]
    assert table.note == ("validation split; per example and averaged per class; head = at least 20 training "
                          "images; mean ± std over seeds [1, 2], gains with their 95% t interval")


def test_one_table_per_model_when_several_models_have_no_pair():
    summary = {v: {"overall": summary_slice([0.5, 0.7, 0.4, 0.6])} for v in ("a", "b")}
    assert [t.title for t in single_model_tables(document(["a", "b"], summary, slices=["overall"]))] == [
        "a: accuracy (%)", "b: accuracy (%)"]


@pytest.fixture
def pair_doc():
    """baseline vs sicot-mean over seeds 1 and 2."""
    base = {"overall": summary_slice([0.50, 0.70, 0.40, 0.60], 100, 10, std=0.02, n=2),
            "tail": summary_slice([0.20, 0.40, 0.10, 0.30], 30, 6, std=0.04, n=2)}
    co = {"overall": summary_slice([0.55, 0.75, 0.45, 0.65], 100, 10, std=0.01, n=2),
          "tail": summary_slice([0.30, 0.45, 0.25, 0.35], 30, 6, std=0.03, n=2)}
    gains = {"overall": gain_slice(0.05, 0.01, -0.04, 0.14), "tail": gain_slice(0.10, 0.02, -0.08, 0.28)}
    gains["tail"]["top1_accuracy_per_class"] = st(0.15, 0.0, 2, [0.15, 0.15])
    return document(["baseline", "sicot-mean"], {"baseline": base, "sicot-mean": co}, seeds=[1, 2],
                    gains={"sicot-mean": gains},
                    cotraining={"sicot-mean": {"reference": "baseline", "slices": gains}})


def test_a_pair_gets_a_per_example_and_a_per_class_table_and_no_table_of_all_models(pair_doc):
    per_example, per_class = comparison_tables(pair_doc)
    assert per_example.title == "baseline vs sicot-mean: top-1 / top-3 accuracy (%), per example"
    assert per_class.title == "baseline vs sicot-mean: top-1 / top-3 accuracy (%), averaged per class"
    assert per_example.header == ["slice", "eval images / classes", "baseline top-1", "baseline top-3",
                                  "sicot-mean top-1", "sicot-mean top-3", "gain top-1", "gain top-3"]
    assert per_example.rows == [
        ["overall", "100 / 10", "50.0 ± 2.0", "70.0 ± 2.0", "55.0 ± 1.0", "75.0 ± 1.0",
         "+5.0 ± 1.0 [-4.0, +14.0]", "+5.0 ± 1.0 [-4.0, +14.0]"],
        ["tail", "30 / 6", "20.0 ± 4.0", "40.0 ± 4.0", "30.0 ± 3.0", "45.0 ± 3.0",
         "+10.0 ± 2.0 [-8.0, +28.0]", "+10.0 ± 2.0 [-8.0, +28.0]"],
    ]
    assert per_class.rows[1] == ["tail", "30 / 6", "10.0 ± 4.0", "30.0 ± 4.0", "25.0 ± 3.0", "35.0 ± 3.0",
                                 "+15.0 ± 0.0 [+15.0, +15.0]", "+10.0 ± 2.0 [-8.0, +28.0]"]
    assert per_class.note.startswith("test split; averaged per class; head = at least 20 training images; ")
    note, power = per_example.note.splitlines()
    assert note.endswith("mean ± std over seeds [1, 2], gains with their 95% t interval")
    # Tail gain 10 ± 2 (d = 5): 3 seeds give 80% power, 2 do not. No head slice: no head figure.
    assert power == ("seeds a paired t test would need for 80% power at the measured mean gain and spread: "
                     "tail top-1 3 (a planning estimate)")
    assert "\n" not in per_class.note


def test_more_than_two_models_add_the_table_of_all_models(pair_doc):
    doc = pair_doc
    doc["variants"].append("baseline+logit_adjusted")
    doc["summary"]["baseline+logit_adjusted"] = {  # no head slice in this document
        "overall": summary_slice([0.52, 0.72, 0.5, 0.62], std=0.02, n=2),
        "tail": summary_slice([0.26, 0.41, 0.2, 0.33], std=0.02, n=2)}
    doc["gains"]["baseline+logit_adjusted"] = {"tail": {"top1_accuracy": st(0.06, 0.01, 2, [-0.03, 0.15])}}
    tables = comparison_tables(doc)
    assert [t.title for t in tables] == [
        "baseline vs sicot-mean: top-1 / top-3 accuracy (%), per example",
        "baseline vs sicot-mean: top-1 / top-3 accuracy (%), averaged per class",
        "All models (Table 3 style): accuracy (%)",
    ]
    all_models = tables[-1]
    assert all_models.header == ["model", "overall top-1", "head top-1", "tail top-1", "tail top-3",
                                 "tail top-1 gain over baseline"]
    assert all_models.rows == [
        ["baseline", "50.0 ± 2.0", "-", "20.0 ± 4.0", "40.0 ± 4.0", "-"],
        ["sicot-mean", "55.0 ± 1.0", "-", "30.0 ± 3.0", "45.0 ± 3.0", "+10.0 ± 2.0 [-8.0, +28.0]"],
        ["baseline+logit_adjusted", "52.0 ± 2.0", "-", "26.0 ± 2.0", "41.0 ± 2.0", "+6.0 ± 1.0 [-3.0, +15.0]"],
    ]
    assert all_models.note.startswith("test split; per example; ")


def test_two_models_without_a_co_training_pair_get_only_the_table_of_all_models():
    summary = {"baseline": {"overall": summary_slice([0.5, 0.7, 0.4, 0.6])},
               "baseline+posthoc": {"overall": summary_slice([0.45, 0.7, 0.5, 0.6])}}
    doc = document(["baseline", "baseline+posthoc"], summary, seeds=[5], slices=["overall"],
                   gains={"baseline+posthoc": {"overall": {"top1_accuracy": st(-0.05)}}})
    (table,) = comparison_tables(doc)
    assert table.title.startswith("All models")
    # No tail slice and no tail gain: dashes.
    assert table.rows == [["baseline", "50.0", "-", "-", "-", "-"], ["baseline+posthoc", "45.0", "-", "-", "-", "-"]]
    assert table.note == "test split; per example; head = at least 20 training images; seed 5"


def test_the_text_of_a_comparison_table_lines_up(pair_doc):
    text = comparison_tables(pair_doc)[0].to_text().splitlines()
    assert text[0] == "baseline vs sicot-mean: top-1 / top-3 accuracy (%), per example"
    header, dashes, overall, tail, note, power = text[1:]
    assert len({len(header), len(dashes), len(overall), len(tail)}) == 1
    assert overall.startswith("overall  ") and tail.startswith("tail     ")
    assert overall.endswith("+5.0 ± 1.0 [-4.0, +14.0]")
    assert f"{note}\n{power}" == comparison_tables(pair_doc)[0].note


def test_notes_name_each_models_seeds_when_they_differ(pair_doc):
    # An archive may hold more seeds of one side (target 2's baseline+posthoc at seeds
    # 15-22 beside a baseline at 11-22): each table names the seeds behind its own models.
    doc = pair_doc
    doc["models"] = ([{"variant": "baseline", "seed": s, "intervals": {}} for s in (1, 2, 3, 4)]
                     + [{"variant": "sicot-mean", "seed": s, "intervals": {}} for s in (3, 4)])
    per_example, per_class = comparison_tables(doc)
    assert per_class.note == ("test split; averaged per class; head = at least 20 training images; mean ± std "
                              "over each model's seeds (baseline 1-4; sicot-mean 3, 4), gains paired over the "
                              "seeds both models have, with their 95% t interval")
    assert per_example.note.splitlines()[0] == per_class.note.replace("averaged per class", "per example")


def test_a_table_names_only_its_own_models_seeds(pair_doc):
    doc = pair_doc
    doc["variants"].append("baseline+posthoc")  # an extra model at other seeds, not in the pair's tables
    doc["summary"]["baseline+posthoc"] = doc["summary"]["baseline"]
    doc["models"] += [{"variant": "baseline+posthoc", "seed": s, "intervals": {}} for s in (7, 8)]
    per_example, per_class, all_models = comparison_tables(doc)
    assert per_class.note.endswith("mean ± std over seeds [1, 2], gains with their 95% t interval")
    assert "(baseline 1, 2; sicot-mean 1, 2; baseline+posthoc 7, 8)" in all_models.note
