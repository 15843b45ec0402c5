"""`sicot compare` and `sicot report` on the tiny catalogue, checked end to end.

Baseline and co-training are trained by the pipeline on the same ingested data; TFMA
evaluates them inside the pipeline with head/tail and bucket slices. The checks: the
cached upstream components ran once; every TFMA slice number equals a recomputation
from the model's own predictions on the eval TFRecords; `sicot report` regenerates
the results without running anything; the HTML report renders in headless Chromium
with its figures, tables and the attention view; the post-hoc re-scoring
(`sicot report --posthoc`) gives TFMA's numbers back at tau 0; the tau-norm re-scoring
of the trained baseline (`--rescore tau_norm`) equals the baseline trained with
tau-normalisation (`baseline+tau_norm`, the same seed).
"""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_run_args
from models import features
from cli.main import main
from sicot.head_tail import LABEL_FREQUENCY_BUCKET, LABEL_GROUP
from tests.headless_chromium import chromium_driver, full_page_screenshot, require_chromium
from tests.tiny_catalogue import write_catalogue

pytestmark = pytest.mark.slow


def _compare_args(root, output_dir, extra=()) -> list[str]:
    # Scored on the test split: the tiny validation split holds head classes only.
    return tiny_run_args(root / "catalogue" / "manifest.jsonl", output_dir,
                         ["train.epochs=2", "compare.seeds=[7]", "compare.split=test",
                          "compare.variants=[baseline,sicot,baseline+tau_norm,baseline+ncm]", *extra])[1:]


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    write_catalogue(root / "catalogue")
    assert main(["compare", *_compare_args(root, root / "run")]) == 0
    return root / "run" / "compare"


def _store(compare_dir):
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    return metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(compare_dir / "metadata.sqlite")))


def _states(store, component):
    return sorted(e.last_known_state for t in store.get_execution_types() if t.name.endswith("." + component)
                  for e in store.get_executions_by_type(t.name))


def test_every_variant_trained_on_once_transformed_data(compare_dir):
    store = _store(compare_dir)
    assert _states(store, "SicotTrainer") == [3, 3, 3, 3]  # COMPLETE four times
    assert _states(store, "Transform") == [3, 5, 5, 5]  # then CACHED
    assert _states(store, "Evaluator") == [3, 3, 3, 3]
    assert _states(store, "Pusher") == []


def _recompute(model_dir, eval_dir):
    model = tf.saved_model.load(model_dir)
    files = sorted(str(p) for p in eval_dir.glob("*"))
    serialized = tf.constant(list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator()))
    probabilities = model.signatures["predict_examples"](examples=serialized)["probabilities"].numpy()
    t = model.signatures["transform_features"](examples=serialized)
    labels = t[features.LABEL_ID].numpy().reshape(-1)
    group = t[LABEL_GROUP].numpy().reshape(-1).astype(str)
    bucket = t[LABEL_FREQUENCY_BUCKET].numpy().reshape(-1).astype(str)
    rank = (probabilities > probabilities[np.arange(len(labels)), labels][:, None]).sum(axis=1)
    return labels, group, bucket, rank


def test_tfma_slices_equal_a_recomputation_from_the_models_predictions(compare_dir):
    doc = json.loads((compare_dir / "results.json").read_text())
    assert doc["schema"] == "sicot.results/2" and doc["split"] == "test"
    assert doc["variants"] == ["baseline", "baseline+ncm", "baseline+tau_norm", "sicot-bilinear_attention"] and doc["seeds"] == [7]
    assert doc["slices"][:3] == ["overall", "head", "tail"]
    for entry in doc["models"]:
        from pathlib import Path

        assert Path(entry["model_dir"]).name == "Format-TFMA"  # the evaluation model
        eval_dir = Path(entry["model_dir"]).parents[3] / "ManifestExampleGen"
        (examples,) = list(eval_dir.glob("examples/*/Split-eval"))
        labels, group, bucket, rank = _recompute(entry["model_dir"], examples)
        # Head = at least 10 training images: red and green are head, blue and yellow tail.
        assert set(group[labels <= 1]) == {"head"} and set(group[labels >= 2]) == {"tail"}
        members = {"overall": np.ones_like(labels, bool), "head": group == "head", "tail": group == "tail"}
        members.update({f"{LABEL_FREQUENCY_BUCKET}:{b}": bucket == b for b in set(bucket)})
        assert set(entry["slices"]) == set(members)
        for name, member in members.items():
            got = entry["slices"][name]
            assert got["example_count"] == member.sum()
            for k in (1, 3):
                hits = rank[member] < k
                per_class = np.mean([hits[labels[member] == c].mean() for c in np.unique(labels[member])])
                assert got[f"top{k}_accuracy"] == pytest.approx(hits.mean()), (name, k)
                assert got[f"top{k}_accuracy_per_class"] == pytest.approx(per_class), (name, k)
        per_class_rows = {r["class_id"]: r for r in entry["classes"]}
        for c in np.unique(labels):
            assert per_class_rows[c]["eval_examples"] == (labels == c).sum()
            assert per_class_rows[c]["top1_hits"] == (rank[labels == c] < 1).sum()


def test_report_regenerates_from_metadata_without_running_anything(compare_dir, tmp_path, capsys):
    store = _store(compare_dir)
    executions_before = len(store.get_executions())
    before = json.loads((compare_dir / "results.json").read_text())
    (compare_dir / "report.html").unlink()
    assert main(["report", str(compare_dir.parent)]) == 0  # the output folder finds compare/
    assert len(_store(compare_dir).get_executions()) == executions_before
    assert json.loads((compare_dir / "results.json").read_text()) == before
    assert (compare_dir / "report.html").exists()
    out = capsys.readouterr().out
    assert "baseline vs sicot-bilinear_attention" in out and "gain top-1" in out
    assert main(["report", str(tmp_path)]) == 2  # no metadata: a clear error, not a traceback
    assert "no ML Metadata" in capsys.readouterr().err


def test_an_archived_comparison_is_not_trained_again_and_gives_the_same_tables(compare_dir, tmp_path, capsys):
    assert main(["report", str(compare_dir)]) == 0  # the plain report (a re-scoring test may have added variants)
    before = json.loads((compare_dir / "results.json").read_text())
    archive = tmp_path / "archive.json"
    assert main(["archive", str(compare_dir), "--out", str(archive)]) == 0
    assert main(["archive", str(compare_dir), "--out", str(archive)]) == 0  # again: replaced, not doubled
    assert "0 model(s) added, 4 replaced" in capsys.readouterr().out
    assert len(json.loads(archive.read_text())["models"]) == 4
    # The same plan on another machine (another output folder), the archive listed: the
    # planned runs are found in it by their shared-settings hash, so nothing trains (no
    # ML Metadata is written) and the tables are the archived models'.
    elsewhere = tmp_path / "elsewhere"
    assert main(["compare", *_compare_args(compare_dir.parent.parent, elsewhere, [f"compare.archives=[{archive}]"])]) == 0
    out = capsys.readouterr().out
    assert out.count("not trained") == 4 and "done in" not in out
    assert not (elsewhere / "compare" / "metadata.sqlite").exists()
    after = json.loads((elsewhere / "compare" / "results.json").read_text())
    for key in ("variants", "seeds", "slices", "summary", "gains", "cotraining_gains", "config_hash", "split"):
        assert json.dumps(after[key], sort_keys=True) == json.dumps(before[key], sort_keys=True), key
    assert [m["classes"] for m in after["models"]] == [m["classes"] for m in before["models"]]
    assert after["attention"] == []  # the title attention needs the model, which is not here


def test_archived_re_scorings_are_read_back_not_computed_again(compare_dir, tmp_path, capsys):
    # The plan's re-scorings archived beside the models (`sicot archive --rescore`), then a
    # report of the same plan elsewhere that names them (compare.rescore): the re-scored
    # variants come from the archive, the same numbers, and nothing is re-scored.
    assert main(["report", str(compare_dir), "--posthoc"]) == 0
    scored = json.loads((compare_dir / "results.json").read_text())
    archive = tmp_path / "archive.json"
    assert main(["archive", str(compare_dir), "--out", str(archive), "--rescore", "posthoc"]) == 0
    assert "tau = " in capsys.readouterr().out  # re-scored once here
    variants = sorted(m["variant"] for m in json.loads(archive.read_text())["models"])
    assert variants == ["baseline", "baseline+ncm", "baseline+posthoc", "baseline+tau_norm",
                        "sicot-bilinear_attention", "sicot-bilinear_attention+posthoc"]
    assert main(["archive", str(compare_dir), "--out", str(archive), "--rescore", "posthoc"]) == 0
    assert "tau = " not in capsys.readouterr().out  # held already: not computed again
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert main(["report", str(elsewhere), *_compare_args(compare_dir.parent.parent, elsewhere,
                 [f"compare.archives=[{archive}]", "compare.rescore=[posthoc]"])]) == 0
    out = capsys.readouterr().out
    assert "tau = " not in out and "not re-scored" not in out
    after = json.loads((elsewhere / "results.json").read_text())
    assert after["variants"] == scored["variants"]
    for key in ("slices", "summary", "gains"):
        assert json.dumps(after[key], sort_keys=True) == json.dumps(scored[key], sort_keys=True), key
    # The same plan without compare.rescore: the archived re-scorings are left out, and said.
    assert main(["report", str(elsewhere), *_compare_args(compare_dir.parent.parent, elsewhere,
                 [f"compare.archives=[{archive}]"])]) == 0
    assert ("left out 2 model(s) of variants this plan does not name (baseline+posthoc, "
            "sicot-bilinear_attention+posthoc;") in capsys.readouterr().out
    plain = json.loads((elsewhere / "results.json").read_text())
    assert not [v for v in plain["variants"] if v.endswith("+posthoc")] and "baseline+ncm" in plain["variants"]


def test_html_report_renders_in_chromium(compare_dir, tmp_path):
    require_chromium()
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    shutil.copy(compare_dir / "report.html", page)
    with chromium_driver() as driver:
        driver.get(page.as_uri())
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) == 3
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 300", i)
                   for i in images)
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
        assert headings == ["Accuracy tables", "Per-class accuracy", "Head, tail and frequency buckets",
                            "Gains over the baseline", "Tail classes: gains and losses", "Title attention (Fig. 7)",
                            "Input data"]
        # The ingest step's counts: the tiny catalogue's 46 rows, none rejected.
        assert "46 input rows or examples, 0 rejected or skipped" in driver.find_element(By.TAG_NAME, "body").text
        first_table = driver.find_elements(By.CSS_SELECTOR, "table.results")[0]
        rows = [r.text.split()[0] for r in first_table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert rows[:3] == ["overall", "head", "tail"]
        high = driver.find_elements(By.CSS_SELECTOR, ".word.high")
        assert high and driver.execute_script(
            "return getComputedStyle(arguments[0]).backgroundColor", high[0]) == "rgb(200, 236, 208)"
        full_page_screenshot(driver, str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000
    shutil.copy(tmp_path / "report.png", "/tmp/sicot_report.png")


def test_posthoc_rescoring_reads_tfmas_numbers_at_tau_0_and_adds_the_adjusted_variants(compare_dir, capsys):
    from evaluation import posthoc_rescoring as rescoring
    from evaluation.run_results import collect_model_results, latest_comparison

    models = latest_comparison(collect_model_results(compare_dir / "metadata.sqlite"))
    assert [m.variant for m in models] == ["baseline", "baseline+ncm", "baseline+tau_norm", "sicot-bilinear_attention"]
    for m in models:
        # Unadjusted, the re-scoring is TFMA's evaluation of the same model: every slice number.
        scored = rescoring.split_scores(m.model_dir, rescoring.split_dir(m, "test"))
        slices, hits = rescoring.slice_metrics(rescoring.adjusted(scored.log_probs, 0.0, rescoring.class_log_prior(m)),
                                               scored)
        assert set(slices) == set(m.slices)
        for name, metrics in slices.items():
            for key, value in metrics.items():
                assert value == pytest.approx(m.slices[name][key]), (m.variant, name, key)
        assert hits.tolist() == m.class_hits.tolist()
    try:
        # A reference the report would not have is refused before any re-scoring.
        assert main(["report", str(compare_dir), "--reference", "baseline+posthoc"]) == 2
        assert "'baseline+posthoc' (baseline+posthoc) is not among the compared models" in capsys.readouterr().err
        assert main(["report", str(compare_dir), "--posthoc", "--reference", "baseline+posthoc"]) == 0
        out = capsys.readouterr().out
        doc = json.loads((compare_dir / "results.json").read_text())
        # Not baseline+tau_norm+posthoc: that model is already re-balanced.
        assert doc["variants"] == ["baseline", "baseline+ncm", "baseline+tau_norm", "sicot-bilinear_attention",
                                   "baseline+posthoc",
                                   "sicot-bilinear_attention+posthoc"]
        assert doc["cotraining_gains"]["sicot-bilinear_attention+posthoc"]["reference"] == "baseline+posthoc"
        assert out.count("+posthoc, seed 7: validation top-1 by tau 0.25:") == 2
        assert "baseline+posthoc vs sicot-bilinear_attention+posthoc: top-1" in out  # the co-training pair
        assert "\nbaseline+posthoc " in out  # a row of the table of all models
        # The chosen reference: every other model against it, by seed; for the co-trained
        # model with the same adjustment, the same gains as its co-training pair.
        assert doc["reference_gains"]["reference"] == "baseline+posthoc"
        assert list(doc["reference_gains"]["gains"]) == ["baseline", "baseline+ncm", "baseline+tau_norm",
                                                        "sicot-bilinear_attention",
                                                        "sicot-bilinear_attention+posthoc"]
        assert (doc["reference_gains"]["gains"]["sicot-bilinear_attention+posthoc"]
                == doc["cotraining_gains"]["sicot-bilinear_attention+posthoc"]["slices"])
        assert "Every model against baseline+posthoc: top-1 accuracy (%)" in out
    finally:
        assert main(["report", str(compare_dir)]) == 0  # the plain report again, for whoever reads it next


def _assert_same_scores(rescored, trained):
    """Every slice's numbers and every class's hits of a re-scored model are the trained one's."""
    assert set(rescored.slices) == set(trained.slices)
    for name, metrics in trained.slices.items():
        for key in ("example_count", "top1_accuracy", "top3_accuracy", "top1_accuracy_per_class"):
            assert rescored.slices[name][key] == pytest.approx(metrics[key]), (name, key)
    assert rescored.class_hits.tolist() == trained.class_hits.tolist()


def test_tau_norm_rescoring_equals_the_model_trained_with_tau_norm(compare_dir, capsys):
    from evaluation import tau_norm_rescoring
    from evaluation.run_results import collect_model_results, latest_comparison

    models = {m.variant: m for m in latest_comparison(collect_model_results(compare_dir / "metadata.sqlite"))}
    # The same training run (seed 7) with the classifier tau-normalised in memory afterwards,
    # against the Trainer's tau-normalisation before export, as TFMA scored it.
    rescored = tau_norm_rescoring.rescored(models["baseline"])
    trained = models["baseline+tau_norm"]
    assert rescored.variant == "baseline+tau_norm" and rescored.config.long_tail.adjustment == "tau_norm"
    _assert_same_scores(rescored, trained)
    # The edit was in memory only: the plain model scores as before.
    from evaluation import posthoc_rescoring

    again = posthoc_rescoring.split_scores(models["baseline"].model_dir,
                                           posthoc_rescoring.split_dir(models["baseline"], "test"))
    slices, _ = posthoc_rescoring.slice_metrics(again.log_probs, again)
    assert slices["overall"]["top1_accuracy"] == pytest.approx(models["baseline"].slices["overall"]["top1_accuracy"])
    try:
        assert main(["report", str(compare_dir), "--rescore", "tau_norm", "--posthoc",
                     "--reference", "baseline+tau_norm"]) == 0
        out = capsys.readouterr().out
        doc = json.loads((compare_dir / "results.json").read_text())
        # The trained baseline+tau_norm is not re-scored again; the co-trained model is.
        assert doc["variants"] == ["baseline", "baseline+ncm", "baseline+tau_norm", "sicot-bilinear_attention",
                                   "baseline+posthoc",
                                   "sicot-bilinear_attention+posthoc", "sicot-bilinear_attention+tau_norm"]
        assert out.count("+tau_norm, seed 7: validation top-1 by tau 0.25:") == 1
        assert "tau-normalisation (weights / norm ** tau, no bias)" in out
        assert doc["cotraining_gains"]["sicot-bilinear_attention+tau_norm"]["reference"] == "baseline+tau_norm"
        assert doc["reference_gains"]["reference"] == "baseline+tau_norm"
    finally:
        assert main(["report", str(compare_dir)]) == 0


def test_ncm_rescoring_equals_the_model_trained_with_ncm(compare_dir):
    from evaluation import ncm_rescoring
    from evaluation.run_results import collect_model_results, latest_comparison

    models = {m.variant: m for m in latest_comparison(collect_model_results(compare_dir / "metadata.sqlite"))}
    # The same training run (seed 7), its classifier replaced by the class means in memory
    # (features read through the exported classifier), against the Trainer's replacement
    # before export (features from the Keras model), as TFMA scored it.
    rescored = ncm_rescoring.rescored(models["baseline"])
    trained = models["baseline+ncm"]
    assert rescored.variant == "baseline+ncm" and trained.config.long_tail.adjustment == "ncm"
    _assert_same_scores(rescored, trained)
    records = {r["adjustment"]: r for r in (json.loads(p.read_text()) for p in
                                             compare_dir.glob("pipeline/SicotTrainer/model_run/*/classifier_rebalancing.json"))}
    assert records["ncm"]["train_images"] > 0 and records["ncm"]["classes_without_mean"] == 0


def test_ncm_rescoring_reads_the_features_that_give_each_models_own_predictions(compare_dir, capsys):
    from evaluation import ncm_rescoring, posthoc_rescoring
    from evaluation.run_results import collect_model_results, latest_comparison
    from evaluation.tau_norm_rescoring import classifier_variables

    models = {m.variant: m for m in latest_comparison(collect_model_results(compare_dir / "metadata.sqlite"))}
    for variant in ("baseline", "sicot-bilinear_attention"):
        model = models[variant]
        test_dir = posthoc_rescoring.split_dir(model, "test")
        parts = classifier_variables(posthoc_rescoring.evaluation_model(model.model_dir), model.model_dir)
        x = ncm_rescoring.features_through_classifier(model.model_dir, parts, test_dir)
        kernel = np.concatenate([k.numpy() for k, _ in parts], axis=1)
        bias = np.concatenate([b.numpy() for _, b in parts])
        # The trained classifier applied to the probed features gives the model's own probabilities.
        logits = x @ kernel + bias
        own = np.exp(posthoc_rescoring.log_probabilities(model.model_dir, test_dir))
        np.testing.assert_allclose(np.exp(logits - logits.max(axis=1, keepdims=True))
                                   / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True),
                                   own, atol=1e-4)
        assert np.std(x) > 1e-3
    try:
        assert main(["report", str(compare_dir), "--rescore", "ncm", "--rescore", "title_ncm",
                     "--rescore", "ncm_title", "--rescore", "crt_mixed"]) == 0
        out = capsys.readouterr().out
        doc = json.loads((compare_dir / "results.json").read_text())
        # ncm: every model trained without a re-balancing, and not where the comparison
        # trained the variant (baseline+ncm); the title methods: the co-trained model only.
        assert doc["variants"] == ["baseline", "baseline+ncm", "baseline+tau_norm", "sicot-bilinear_attention",
                                   "sicot-bilinear_attention+ncm", "sicot-bilinear_attention+title_ncm",
                                   "sicot-bilinear_attention+ncm_title", "sicot-bilinear_attention+crt_mixed"]
        assert out.count("+ncm, seed 7: class means of ") == 1  # the trained baseline+ncm is not re-scored
        assert out.count("+title_ncm, seed 7: class means of ") == 1
        assert out.count("+ncm_title, seed 7: class means of ") == 1
        assert out.count("+crt_mixed, seed 7: classifier trained again on ") == 1
        assert ("re-scoring every model without a re-balancing: nearest class mean (cosine to each class's mean "
                "training feature), nothing tuned") in out
        assert "re-scoring every co-trained model without a re-balancing: nearest class mean of the training titles'" in out
        assert doc["cotraining_gains"]["sicot-bilinear_attention+ncm"]["reference"] == "baseline+ncm"
    finally:
        assert main(["report", str(compare_dir)]) == 0


def test_a_sealed_split_is_archived_from_the_same_training_and_a_later_plan_on_it_trains_nothing(compare_dir, tmp_path,
                                                                                                  capsys):
    # Last in this module: it adds the validation split's evaluations to the shared run.
    # The comparison again, scored on validation with the test split sealed: the models
    # are the ones trained above (the Trainer's cache: the scored split is no part of
    # its settings); the archive gets both splits, the tables show validation only.
    assert main(["report", str(compare_dir)]) == 0  # the plain report (a re-scoring test may have added variants)
    test_results = json.loads((compare_dir / "results.json").read_text())
    trainings = _states(_store(compare_dir), "SicotTrainer").count(3)  # COMPLETE; 5 is CACHED
    archive = tmp_path / "archive.json"
    root = compare_dir.parent.parent
    args = _compare_args(root, compare_dir.parent, ["compare.split=validation", "compare.sealed_splits=[test]",
                                                    "compare.rescore=[posthoc]"])
    assert main(["compare", *args, "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert out.count("scored on the test split too, sealed: not shown here") == 4
    # The re-scorings of the sealed split print nothing; those of validation speak.
    assert "test top-1" not in out
    assert "validation top-1 by tau" in out
    states = _states(_store(compare_dir), "SicotTrainer")
    assert states.count(3) == trainings and states.count(5) == 8  # nothing trained again: cached for each split
    shown = json.loads((compare_dir / "results.json").read_text())
    assert shown["split"] == "validation"
    archived = json.loads(archive.read_text())["models"]
    splits = ("test", "validation")
    assert sorted((m["split"], m["variant"]) for m in archived if "rescored_by" not in m) == sorted(
        (split, m["variant"]) for split in splits for m in test_results["models"])
    assert sorted((m["split"], m["variant"]) for m in archived if "rescored_by" in m) == [
        (split, f"{variant}+posthoc") for split in splits for variant in ("baseline", "sicot-bilinear_attention")]
    sealed = {m["variant"]: m["slices"]["overall"]["top1_accuracy"] for m in archived
              if m["split"] == "test" and "rescored_by" not in m}
    assert sealed == {m["variant"]: m["slices"]["overall"]["top1_accuracy"] for m in test_results["models"]}
    # The test plan made later elsewhere finds every model in the archive: nothing trains,
    # and its tables are the sealed numbers.
    elsewhere = tmp_path / "elsewhere"
    assert main(["compare", *_compare_args(root, elsewhere, [f"compare.archives=[{archive}]"])]) == 0
    out = capsys.readouterr().out
    assert out.count("not trained") == 4 and "done in" not in out
    after = json.loads((elsewhere / "compare" / "results.json").read_text())
    assert after["split"] == "test"
    assert json.dumps(after["summary"], sort_keys=True) == json.dumps(test_results["summary"], sort_keys=True)
