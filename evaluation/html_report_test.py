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

