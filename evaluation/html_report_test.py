"""The report's slice bars: which error bars they draw."""

import numpy as np
import pytest

from evaluation.html_report import _slice_errors


def _doc(models):
    return {"models": models}


def test_one_model_gets_tfma_interval_as_asymmetric_bars():
    doc = _doc([{"variant": "baseline", "intervals": {"tail": {"top1_accuracy": [0.10, 0.16]}}}])
    errors = _slice_errors(doc, "baseline", ["overall", "tail"], "top1_accuracy",
                           [{"n": 1, "mean": 0.2, "std": 0.0}, {"n": 1, "mean": 0.12, "std": 0.0}])
    np.testing.assert_allclose(errors[:, 1], [2.0, 4.0])  # 12 - 10 below, 16 - 12 above, in points
    np.testing.assert_allclose(errors[:, 0], [0.0, 0.0])  # no interval for that slice: no bar


def test_several_seeds_get_the_std():
    doc = _doc([{"variant": "baseline", "intervals": {"tail": {"top1_accuracy": [0.0, 1.0]}}}] * 3)
    errors = _slice_errors(doc, "baseline", ["tail"], "top1_accuracy", [{"n": 3, "mean": 0.12, "std": 0.015}])
    assert errors[:, 0] == pytest.approx([1.5, 1.5])


def test_the_input_section_counts_per_split_and_names_the_first_rejects():
    from evaluation.html_report import _input_html

    data = {"report": "/r/ingest_report.json", "counts": {"rows": 50, "rejected": 12, "train": 30, "validation": 3,
                                                          "eval": 5},
            "rejected_by_split": {"train": 11, "eval": 1},
            "first_rejects": ["train m.jsonl:4: missing label (a<b>.png)", "eval t.gz:0: not a tf.Example"]}
    page = _input_html(data)
    assert "50 input rows or examples, 12 rejected or skipped" in page
    assert "<tr><td>train</td><td>30</td><td>11</td></tr>" in page
    assert "<tr><td>validation</td><td>3</td><td>0</td></tr>" in page
    assert "<code>train m.jsonl:4: missing label (a&lt;b&gt;.png)</code>" in page  # escaped
    assert "... and 10 more (see the report)" in page


def test_gain_cells_are_coloured_by_sign_in_every_gain_column_and_nowhere_else():
    from evaluation.html_report import _table_html
    from evaluation.tables import Table

    table = Table("t", ["model", "overall", "overall gain", "tail top-1 gain over baseline", "gain top-1"],
                  [["sicot", "+1.0", "+1.0 [+0.1, +2.0]", "-2.0 [-3.0, -1.0]", "+0.0 ± 0.1"],
                   ["baseline", "20.0", "-", "-", "-"]])
    page = _table_html(table)
    assert page.count('class="gain-pos"') == 1 and page.count('class="gain-neg"') == 1
    assert '<td class="gain-pos">+1.0 [+0.1, +2.0]</td>' in page
    assert '<td class="gain-neg">-2.0 [-3.0, -1.0]</td>' in page
    assert "<td>+1.0</td>" in page and "<td>+0.0 ± 0.1</td>" in page  # not a gain column; a zero gain


def _attention_doc(*titles):
    return {"attention": [{"variant": "sicot-mean", "seed": 1, "label": f"c{i}", "title": " ".join(w for w, _ in words),
                           "words": words} for i, words in enumerate(titles)]}


def test_titles_whose_words_weigh_the_same_are_not_coloured_and_the_caption_says_why():
    from evaluation.html_report import _attention_html

    # The mean encoder's 1/n in float32 (not exactly equal), over every title shown.
    page = _attention_html(_attention_doc([["knobs", 0.16666667], ["control", 0.16666666], ["dial", 0.16666668]],
                                          [["keycap", 0.5], ["key", 0.5]], [["alone", 1.0]]))
    assert "<span class='word '>knobs<small>0.17</small></span>" in page
    assert "word high'>knobs" not in page and "word low'>dial" not in page
    assert "<span class='word '>key<small>0.50</small></span>" in page
    assert "<span class='word '>alone<small>1.00</small></span>" in page  # one word: nothing to rank
    assert "Every title here weighs its words equally (1/n)" in page and "model.title_encoder: mean" in page
    assert "three highest in green" not in page


def test_uneven_weights_keep_their_colours_beside_a_uniform_title():
    from evaluation.html_report import _attention_html

    page = _attention_html(_attention_doc([["shoe", 0.6], ["red", 0.3], ["big", 0.1]],
                                          [["hat", 0.5], ["blue", 0.5]]))
    assert "<span class='word high'>shoe<small>0.60</small></span>" in page
    assert "<span class='word high'>red<small>0.30</small></span>" in page  # 3 words: 2 green, 1 red
    assert "<span class='word low'>big<small>0.10</small></span>" in page
    assert "<span class='word '>hat<small>0.50</small></span>" in page
    assert "1 of 2 titles weigh their words equally (1/n): not coloured." in page
    assert "Every title here" not in page
