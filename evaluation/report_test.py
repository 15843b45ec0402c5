"""`sicot report`'s make_report on hand-made model results: the ML Metadata reader and the
title-attention model are replaced by fakes (both are checked in run_results_test.py and
attention_view_test.py; the real thing end to end in tests/evaluation_report_e2e_test.py)."""

import json
import re

import numpy as np
import pytest

from evaluation import report
from evaluation.results_document import SCHEMA
from evaluation.run_results import (
    Comparison,
    ModelResult,
    RunResultsError,
    co_training_settings,
    shared_config_hash,
    variant_of,
)
from evaluation.tables import comparison_tables
from sicot.config import SicotConfig


def model(co_training: bool, seed: int, top1: float, execution_id: int, config_hash: str | None = None) -> ModelResult:
    config = SicotConfig()
    config.model.co_training = co_training
    config.train.seed = seed
    config.eval.attention_examples = 2
    stats = {"example_count": 10.0, "classes": 2.0, "top1_accuracy": top1, "top3_accuracy": 0.9,
             "top1_accuracy_per_class": top1, "top3_accuracy_per_class": 0.9}
    return ModelResult(
        variant=variant_of(config), seed=seed, config_hash=config_hash or shared_config_hash(config), config=config,
        execution_id=execution_id, split="test", model_dir=f"/models/{execution_id}/Format-TFMA",
        evaluation_dir=f"/evaluations/{execution_id}", transform_dir="/transform",
        eval_examples_dir=f"/examples/{execution_id}/Split-eval", blessed=None,
        slices={"overall": stats, "tail": dict(stats, top1_accuracy=top1 / 2)}, intervals={},
        class_hits=np.array([[0, 6, 5, 6], [1, 4, 1, 3]]), labels=["shoe", "hat"], train_counts={"shoe": 50, "hat": 3},
    )


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "metadata.sqlite").write_bytes(b"")
    return tmp_path


@pytest.fixture
def fakes(monkeypatch):
    calls = {"collect": [], "attention": []}

    def use(models):
        def collect(metadata_path):
            calls["collect"].append(metadata_path)
            return models

        def attention(model_dir, eval_examples_dir, limit):
            calls["attention"].append((model_dir, eval_examples_dir, limit))
            return [{"label": "shoe", "title": "red shoe", "words": [["shoe", 0.7], ["red", 0.3]]}]

        monkeypatch.setattr(report, "collect_model_results", collect)
        monkeypatch.setattr(report, "attention_examples", attention)
        return calls

    return use


def test_report_of_the_newest_comparison_with_the_co_trained_models_attention(run_dir, fakes):
    calls = fakes([
        model(False, 1, 0.2, 1, config_hash="older settings"),  # not in the newest comparison
        model(True, 1, 0.6, 2), model(True, 2, 0.5, 3), model(False, 1, 0.4, 4), model(False, 2, 0.3, 5),
    ])
    made = report.make_report(run_dir)
    assert calls["collect"] == [run_dir / "metadata.sqlite"]
    # The attention of the first co-trained model (seed 1), as many titles as the config asks.
    assert calls["attention"] == [("/models/2/Format-TFMA", "/examples/2/Split-eval", 2)]
    assert made.results_path == run_dir / "results.json" and made.html_path == run_dir / "report.html"
    written = json.loads(made.results_path.read_text())
    assert written["schema"] == SCHEMA and written == json.loads(json.dumps(made.document))
    assert written["run_dir"] == str(run_dir)
    assert [(m["variant"], m["seed"]) for m in written["models"]] == [
        ("baseline", 1), ("baseline", 2), ("sicot-mean", 1), ("sicot-mean", 2)]
    assert written["summary"]["baseline"]["overall"]["top1_accuracy"]["mean"] == pytest.approx(0.35)
    assert written["attention"] == [{"variant": "sicot-mean", "seed": 1, "label": "shoe",
                                     "title": "red shoe", "words": [["shoe", 0.7], ["red", 0.3]]}]
    assert [t.title for t in made.tables] == [t.title for t in comparison_tables(made.document)]
    assert made.tables[0].title.startswith("baseline vs sicot-mean")
    page = made.html_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and made.tables[0].title in page
    assert "shoe · red shoe</div><span class='word high'>shoe<small>0.70</small></span>" in page


def test_a_visual_only_run_has_no_attention_and_can_write_elsewhere(run_dir, tmp_path, fakes):
    calls = fakes([model(False, 3, 0.4, 1)])
    out = tmp_path / "elsewhere" / "report"
    made = report.make_report(str(run_dir), out)
    assert calls["attention"] == []
    assert made.document["attention"] == []
    assert (made.results_path, made.html_path) == (out / "results.json", out / "report.html")
    assert not (run_dir / "results.json").exists() and made.html_path.stat().st_size > 0
    assert [t.title for t in made.tables] == ["baseline: accuracy (%)"]
    assert "No co-trained model in this run: no title attention to show." in made.html_path.read_text()


def test_a_comparison_folder_is_found_below_the_output_folder(tmp_path, fakes):
    (tmp_path / "compare").mkdir()
    (tmp_path / "compare" / "metadata.sqlite").write_bytes(b"")
    calls = fakes([model(False, 1, 0.4, 1)])
    made = report.make_report(tmp_path)
    assert calls["collect"] == [tmp_path / "compare" / "metadata.sqlite"]
    assert made.results_path == tmp_path / "compare" / "results.json"
    assert made.document["run_dir"] == str(tmp_path / "compare")


def test_no_metadata_or_no_evaluation_is_a_clear_error(tmp_path, run_dir, fakes):
    with pytest.raises(RunResultsError, match="no ML Metadata"):
        report.make_report(tmp_path / "empty")
    fakes([])
    with pytest.raises(RunResultsError, match="no completed Evaluator execution"):
        report.make_report(run_dir)
    assert not (run_dir / "results.json").exists()


def test_an_acceptance_rule_is_judged_with_the_variants_results_names(run_dir, fakes):
    from sicot.config import AcceptanceConfig

    # Top-1 overall gains 0.2 and 0.2 at seeds 1 and 2 (tail: half of it); seed 3 is outside the plan.
    fakes([model(True, 1, 0.6, 2), model(True, 2, 0.5, 3), model(False, 1, 0.4, 4), model(False, 2, 0.3, 5),
           model(True, 3, 0.1, 6), model(False, 3, 0.9, 7)])
    rule = AcceptanceConfig(variant="sicot", min_mean_gain={"overall": 0.15, "tail": 0.15})
    made = report.make_report(run_dir, acceptance=rule, planned_seeds=[1, 2])
    verdict = json.loads(made.results_path.read_text())["acceptance"]
    assert (verdict["variant"], verdict["reference"]) == ("sicot-mean", "baseline")
    assert verdict["status"] == "not met" and verdict["paired_seeds"] == [1, 2]
    assert [c["holds"] for c in verdict["conditions"]] == [True, False]  # overall +20 points, tail +10
    assert verdict["conditions"][0]["measured"]["mean"] == pytest.approx(0.2)
    assert made.tables[-1].title.endswith("seeds 1, 2: NOT MET")
    assert made.tables[-1].title in made.html_path.read_text()
    # Without a rule, no verdict; with a rule for seeds not trained yet, pending.
    assert "acceptance" not in report.make_report(run_dir).document
    assert report.make_report(run_dir, acceptance=rule, planned_seeds=[1, 2, 4]).document["acceptance"]["status"] == "pending"


def test_a_pending_rule_withholds_every_accuracy_and_says_which_models_are_in(run_dir, fakes):
    from sicot.config import AcceptanceConfig

    fakes([model(True, 1, 0.6, 2), model(True, 2, 0.5, 3), model(False, 1, 0.4, 4)])
    rule = AcceptanceConfig(variant="sicot", min_mean_gain={"tail": 0.02})
    made = report.make_report(run_dir, acceptance=rule, planned_seeds=[1, 2, 3])
    written = made.results_path.read_text()
    doc = json.loads(written)
    assert doc["withheld"] is True and doc["acceptance"]["status"] == "pending"
    assert doc["models"] == [{"variant": "baseline", "seed": 1}, {"variant": "sicot-mean", "seed": 1},
                             {"variant": "sicot-mean", "seed": 2}]
    for key in ("summary", "gains", "cotraining_gains", "attention", "slices"):
        assert key not in doc
    # No accuracy of any model, in any form (the rule's own bounds stay; nothing is measured).
    assert not re.findall(r"\d\.\d", json.dumps({k: v for k, v in doc.items() if k != "acceptance"}))
    assert [c["measured"] for c in doc["acceptance"]["conditions"]] == [None]
    models_in, verdict = made.tables
    assert models_in.title.startswith("Accuracy withheld: the plan's acceptance rule is pending (3 model(s) in")
    assert models_in.rows == [["baseline", "1", "1"], ["sicot-mean", "1, 2", "2"]]
    assert verdict.title.endswith("PENDING") and "1 of the 3 planned seeds have both models" in verdict.note
    page = made.html_path.read_text()
    assert "Accuracy withheld" in page and "<img" not in page and "60.0" not in page
    # The rule left out: the same models' numbers are shown.
    shown = report.make_report(run_dir)
    assert "summary" in shown.document and shown.document["models"][0]["slices"]


def _archived(m, tmp_path, name="archive.json"):
    from evaluation.results_archive import write_archive

    return write_archive([m] if not isinstance(m, list) else m, tmp_path / name)[0]


def test_archived_models_join_the_run_folders_which_win_over_their_archived_copy(run_dir, tmp_path, fakes):
    planned = (model(False, 1, 0.4, 4).config_hash, "test")
    calls = fakes([model(True, 1, 0.6, 2), model(False, 1, 0.4, 4)])
    other = model(True, 3, 0.9, 6)  # another comparison: another training length
    other.config.train.epochs += 1
    other.config_hash = shared_config_hash(other.config)
    archive = _archived([model(False, 1, 0.1, 9), model(False, 2, 0.3, 8), model(True, 2, 0.5, 7), other], tmp_path)
    made = report.make_report(run_dir, archives=[archive], planned=planned)
    rows = {(m["variant"], m["seed"]): m for m in made.document["models"]}
    assert sorted(rows) == [("baseline", 1), ("baseline", 2), ("sicot-mean", 1),
                            ("sicot-mean", 2)]  # seed 3 was another comparison
    assert rows[("baseline", 1)]["slices"]["overall"]["top1_accuracy"] == 0.4  # the folder's, not the archive's 0.1
    assert rows[("baseline", 2)]["model_dir"] == ""  # archived: no model here
    assert made.document["summary"]["baseline"]["overall"]["top1_accuracy"]["mean"] == pytest.approx(0.35)
    # The attention is of a co-trained model that is here.
    assert calls["attention"] == [("/models/2/Format-TFMA", "/examples/2/Split-eval", 2)]


def test_a_plans_report_shows_its_own_semantic_stream_settings_not_the_newest(tmp_path, fakes):
    # Two co-trained models of one seed that differ only in lambda (a screen's rows, not
    # in the shared hash): the plan's report shows its own, whichever was archived last.
    fakes([])
    baseline, reference, lambda2 = model(False, 1, 0.4, 1), model(True, 1, 0.6, 2), model(True, 1, 0.7, 3)
    lambda2.config.model.mixed_loss_weight = 2.0
    assert shared_config_hash(lambda2.config) == reference.config_hash
    archive = _archived([baseline, reference, lambda2], tmp_path)
    for plan, top1 in ((reference, 0.6), (lambda2, 0.7)):
        planned = Comparison(baseline.config_hash, "test", co_training_settings(plan.config))
        said = []
        made = report.make_report(tmp_path / "out", archives=[archive], planned=planned, say=said.append)
        rows = [(m["variant"], m["slices"]["overall"]["top1_accuracy"]) for m in made.document["models"]]
        assert rows == [("baseline", 0.4), ("sicot-mean", top1)]
        assert said == ["left out 1 co-trained model(s) with other semantic stream settings than this plan's "
                        "(sicot-mean seed 1; the model.* settings no variant name carries: lambda, the "
                        "alignment, the title word prediction...)"]
    # No plan: the newest co-trained model's settings, as before.
    made = report.make_report(tmp_path / "out", archives=[archive], planned=(baseline.config_hash, "test"))
    assert [m["slices"]["overall"]["top1_accuracy"] for m in made.document["models"]] == [0.4, 0.7]


def test_archives_alone_make_a_report_in_an_empty_folder(tmp_path, fakes):
    from sicot.config import AcceptanceConfig

    calls = fakes([])
    archive = _archived([model(False, 1, 0.4, 1), model(True, 1, 0.6, 2)], tmp_path)
    out = tmp_path / "not yet run"
    rule = AcceptanceConfig(variant="sicot", min_mean_gain={"overall": 0.1})
    made = report.make_report(out, archives=[archive], planned=(model(False, 1, 0.4, 1).config_hash, "test"),
                              acceptance=rule, planned_seeds=[1, 2])
    assert calls == {"collect": [], "attention": []}
    assert made.results_path == out / "results.json"
    assert made.document["acceptance"]["status"] == "pending"  # seed 2 has no model anywhere yet
    assert made.document["withheld"] and made.document["models"] == [{"variant": "baseline", "seed": 1},
                                                                      {"variant": "sicot-mean", "seed": 1}]
    with pytest.raises(RunResultsError, match="no evaluated model of the planned comparison .settings x, test"):
        report.make_report(out, archives=[archive], planned=("x", "test"))
    with pytest.raises(RunResultsError, match="no ML Metadata"):  # without archives the folder must hold a run
        report.make_report(tmp_path / "empty")


def test_a_plans_report_leaves_out_archived_re_scorings_it_does_not_name(tmp_path, fakes):
    # An archive that holds a test re-scoring another plan asked for (issue 11's target 1
    # archive holds target 2's): the plan's report shows its own variants only, and says so.
    import dataclasses

    fakes([])
    plain = model(False, 1, 0.4, 1)
    rescored = model(False, 1, 0.5, 3)  # as evaluation/posthoc_rescoring.py makes one
    config = dataclasses.replace(plain.config, long_tail=dataclasses.replace(plain.config.long_tail, adjustment="posthoc"))
    rescored = dataclasses.replace(rescored, variant="baseline+posthoc", config=config, rescored_by="posthoc")
    archive = _archived([plain, model(True, 1, 0.6, 2), rescored], tmp_path)
    planned = (plain.config_hash, "test")
    said = []
    made = report.make_report(tmp_path / "out", archives=[archive], planned=planned,
                              shown=["baseline", "sicot-mean"], say=said.append)
    assert [m["variant"] for m in made.document["models"]] == ["baseline", "sicot-mean"]
    assert not any("posthoc" in t.to_text() for t in made.tables)
    assert said == ["left out 1 model(s) of variants this plan does not name (baseline+posthoc; "
                    "--rescore METHOD or compare.rescore shows a re-scoring)"]
    # Named by the plan (compare.rescore or --rescore), or no plan given: it is shown.
    for shown in (["baseline", "sicot-mean", "baseline+posthoc"], None):
        made = report.make_report(tmp_path / "out", archives=[archive], planned=planned, shown=shown)
        assert "baseline+posthoc" in [m["variant"] for m in made.document["models"]]
    with pytest.raises(RunResultsError, match="none of the planned variants .sicot-bilstm. has a model"):
        report.make_report(tmp_path / "out", archives=[archive], planned=planned, shown=["sicot-bilstm"])


def test_a_planned_comparison_is_shown_even_when_the_folders_newest_evaluation_is_a_sealed_split(run_dir, fakes):
    # compare.sealed_splits: the folder also holds each model scored on the test split,
    # which this validation plan must not show, whatever was evaluated last.
    import dataclasses

    validation = [dataclasses.replace(model(c, 1, 0.4 + c / 10, 1 + c), split="validation") for c in (False, True)]
    sealed = [model(False, 1, 0.9, 3), model(True, 1, 0.95, 4)]  # split "test", evaluated after
    fakes(validation + sealed)
    made = report.make_report(run_dir, planned=(validation[0].config_hash, "validation"))
    assert made.document["split"] == "validation" and len(made.document["models"]) == 2
    assert made.document["summary"]["baseline"]["overall"]["top1_accuracy"]["mean"] == pytest.approx(0.4)
    # With no plan the newest evaluation's comparison is shown: `sicot compare` scores
    # the sealed splits first so that it is the plan's.
    assert report.make_report(run_dir).document["split"] == "test"


def test_a_plans_report_leaves_out_archived_seeds_it_does_not_name(tmp_path, fakes):
    # An archive may hold another plan's seeds of the same settings (stop 42: target 1's
    # seeds 15-22 beside a new plan's 1-3): the plan's means and pairs take its seeds only.
    fakes([])
    archive = _archived([model(False, 1, 0.4, 1), model(True, 1, 0.6, 2), model(False, 15, 0.9, 3)], tmp_path)
    planned = (model(False, 1, 0.4, 1).config_hash, "test")
    said = []
    made = report.make_report(tmp_path / "out", archives=[archive], planned=planned, seeds=[1, 2, 3],
                              say=said.append)
    assert [(m["variant"], m["seed"]) for m in made.document["models"]] == [
        ("baseline", 1), ("sicot-mean", 1)]
    assert made.document["summary"]["baseline"]["overall"]["top1_accuracy"]["mean"] == pytest.approx(0.4)
    assert said == ["left out 1 model(s) of seeds this plan does not name (15; compare.seeds names the plan's)"]
    # No seeds given: every archived seed, as before.
    made = report.make_report(tmp_path / "out", archives=[archive], planned=planned)
    assert len(made.document["models"]) == 3
    with pytest.raises(RunResultsError, match="none of the planned seeds .4. has a model"):
        report.make_report(tmp_path / "out", archives=[archive], planned=planned, seeds=[4])
