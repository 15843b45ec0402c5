"""The post-hoc re-scoring of trained models on hand-made scores (the evaluation model
is replaced by a fake here; the real one end to end in tests/evaluation_report_e2e_test.py)."""

import dataclasses

import numpy as np
import pytest

from evaluation import posthoc_rescoring as rescoring
from evaluation.rescoring import with_rescoring
from evaluation.results_document import build_results
from evaluation.run_results import RunResultsError
from models.classifier_rebalancing import rebalanced
from tests.model_results import model_result

# Class 0 is the head class (90 training images), 1 and 2 tail classes (9 and 1).
COUNTS = np.array([90.0, 9.0, 1.0])
LOG_PRIOR = np.log(COUNTS / COUNTS.sum())


def scores(probabilities, labels, groups, buckets) -> rescoring.SplitScores:
    return rescoring.SplitScores(
        log_probs=np.log(np.asarray(probabilities, dtype=np.float64)), labels=np.asarray(labels),
        slice_values={"label_group": np.array(groups, dtype=object),
                      "label_frequency_bucket": np.array(buckets, dtype=object)})


def test_ranking_log_probabilities_by_the_adjustment_is_ranking_the_rebalanced_logits():
    rng = np.random.default_rng(0)
    features, kernel, bias = rng.normal(size=(50, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    logits = features @ kernel + bias
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    for tau in (0.0, 0.5, 1.0, 2.0):
        k, b = rebalanced(kernel, bias, "posthoc", tau, LOG_PRIOR)
        expected = features @ k + b
        got = rescoring.adjusted(log_probs, tau, LOG_PRIOR)
        # The same scores up to one constant per image: the same ranking.
        np.testing.assert_allclose(got - got[:, :1], expected - expected[:, :1], atol=1e-9)
        assert (np.argsort(got, axis=1) == np.argsort(expected, axis=1)).all()


def test_tau_lifts_tail_classes_and_is_chosen_by_validation_top1():
    # Two images of the tail class 2 that the plain model ranks second behind the head class.
    validation = scores([[0.6, 0.1, 0.3], [0.55, 0.05, 0.4], [0.8, 0.1, 0.1]], [2, 2, 0],
                        ["tail", "tail", "head"], ["1-2", "1-2", ">19"])
    accuracy = rescoring.top1_by_tau(validation, [2.0, 0.0, 0.25, 1.0], LOG_PRIOR)
    assert list(accuracy) == [0.0, 0.25, 1.0, 2.0]  # sorted
    # Against class 0, tau multiplies class 2's probability by (90 / 1) ** tau (3.08 at 0.25).
    assert accuracy[0.0] == pytest.approx(1 / 3)  # only the head image
    assert accuracy[0.25] == pytest.approx(1.0)  # 0.3 * 3.08 > 0.6, 0.4 * 3.08 > 0.55, 0.1 * 3.08 < 0.8
    assert accuracy[1.0] == pytest.approx(2 / 3)  # the head image lost: 0.1 * 90 > 0.8
    assert accuracy[2.0] == pytest.approx(2 / 3)


def test_images_of_unknown_classes_are_not_counted():
    validation = scores([[0.6, 0.3, 0.1], [0.1, 0.8, 0.1]], [0, -1], ["head", "unseen"], [">19", "unseen"])
    assert rescoring.top1_by_tau(validation, [0.0], LOG_PRIOR) == {0.0: 1.0}
    slices, hits = rescoring.slice_metrics(validation.log_probs, validation)
    assert set(slices) == {"overall", "head", "label_frequency_bucket:>19"}
    assert slices["overall"]["example_count"] == 1 and hits.tolist() == [[0, 1, 1, 1]]


def test_slice_metrics_per_example_and_per_class_with_tfmas_tie_rule():
    split = scores(
        [[0.5, 0.3, 0.2],   # class 0: top-1
         [0.2, 0.5, 0.3],   # class 0: 3rd (top-3 only)
         [0.4, 0.4, 0.2],   # class 1: tied with class 0 -> top-1 (only strictly higher scores count)
         [0.1, 0.2, 0.7],   # class 2: top-1
         [0.3, 0.3, 0.4]],  # class 2: top-1
        [0, 0, 1, 2, 2], ["head", "head", "tail", "tail", "tail"], [">19", ">19", "6-19", "1-2", "1-2"])
    slices, hits = rescoring.slice_metrics(split.log_probs, split)
    assert set(slices) == {"overall", "head", "tail", "label_frequency_bucket:>19",
                           "label_frequency_bucket:6-19", "label_frequency_bucket:1-2"}
    overall = slices["overall"]
    assert overall["example_count"] == 5 and overall["classes"] == 3
    assert overall["top1_accuracy"] == pytest.approx(4 / 5)
    assert overall["top3_accuracy"] == pytest.approx(1.0)
    assert overall["top1_accuracy_per_class"] == pytest.approx((1 / 2 + 1 + 1) / 3)
    assert slices["tail"]["top1_accuracy"] == 1.0 and slices["tail"]["classes"] == 2
    assert slices["head"]["top1_accuracy"] == pytest.approx(1 / 2)
    assert slices["head"]["top3_accuracy_per_class"] == 1.0
    assert slices["label_frequency_bucket:1-2"]["example_count"] == 2
    assert hits.tolist() == [[0, 2, 1, 2], [1, 1, 1, 1], [2, 2, 2, 2]]


def test_the_posthoc_rescoring_scores_each_plain_model_with_its_validation_tau(monkeypatch):
    read = []
    validation = scores([[0.6, 0.1, 0.3], [0.55, 0.05, 0.4], [0.8, 0.1, 0.1]], [2, 2, 0],
                        ["tail", "tail", "head"], ["1-2", "1-2", ">19"])
    test = scores([[0.5, 0.1, 0.4], [0.9, 0.05, 0.05]], [2, 0], ["tail", "head"], ["1-2", ">19"])

    def fake_scores(model_dir, examples_dir):
        read.append((model_dir, str(examples_dir)))
        return validation if str(examples_dir).endswith("Split-validation") else test

    monkeypatch.setattr(rescoring, "split_scores", fake_scores)
    models = [model_result(False, 1), model_result(True, 1), model_result(False, 1, "posthoc")]
    models[2].variant = "baseline+posthoc"  # already trained: not scored again
    said = []
    out = with_rescoring(models, ["posthoc"], said.append)
    assert [m.variant for m in out] == ["baseline", "sicot-mean", "baseline+posthoc",
                                        "sicot-mean+posthoc"]
    added = out[3]
    # Validation picks tau 0.25 (3 of 3). On test, at 0.25: 0.4 * 3.08 > 0.5 and 0.9 > 0.05 * 3.08, both
    # right; at tau 0 or 1 one of the two would be wrong (0.4 < 0.5; 0.05 * 90 > 0.9).
    assert added.slices["overall"]["top1_accuracy"] == 1.0 and added.slices["tail"]["top1_accuracy"] == 1.0
    assert added.config.long_tail.adjustment == "posthoc" and added.intervals == {} and added.blessed is None
    assert added.config_hash == models[1].config_hash and added.seed == 1
    assert models[1].variant == "sicot-mean" and models[1].slices["overall"]["top1_accuracy"] == 1 / 3
    assert read == [("/m/11/Format-TFMA", "/x/Examples/1/Split-validation"),
                    ("/m/11/Format-TFMA", "/x/Examples/1/Split-eval")]
    assert said == ["sicot-mean+posthoc, seed 1: validation top-1 by tau 0.25: 100.0%, 1: 66.7%, 2: 66.7%; "
                    "tau = 0.25; test top-1 100.0%"]
    # The co-trained model's adjusted variant is compared with the baseline's, paired by seed.
    doc = build_results(out, "/run")
    assert doc["cotraining_gains"]["sicot-mean+posthoc"]["reference"] == "baseline+posthoc"
    gain = doc["cotraining_gains"]["sicot-mean+posthoc"]["slices"]["overall"]["top1_accuracy"]
    assert gain["mean"] == pytest.approx(1.0 - 1 / 3)


def test_a_model_scored_on_validation_is_read_once():
    models = [model_result(False, 2)]
    models[0] = dataclasses.replace(models[0], split="validation",
                                    eval_examples_dir="/x/Examples/1/Split-validation")
    read = []
    validation = scores([[0.6, 0.1, 0.3]], [2], ["tail"], ["1-2"])

    def fake_scores(model_dir, examples_dir):
        read.append(str(examples_dir))
        return validation

    with pytest.MonkeyPatch.context() as m:
        m.setattr(rescoring, "split_scores", fake_scores)
        (added,) = with_rescoring(models, ["posthoc"])[1:]
    assert read == ["/x/Examples/1/Split-validation"]
    assert added.slices["overall"]["top1_accuracy"] == 1.0


def test_an_already_rebalanced_model_is_refused():
    with pytest.raises(ValueError, match="already re-balanced"):
        rescoring.rescored(model_result(False, 1, "tau_norm"))


def test_a_validation_split_without_known_classes_is_a_clear_error(monkeypatch):
    unknown = scores([[0.6, 0.3, 0.1]], [-1], ["unseen"], ["unseen"])
    monkeypatch.setattr(rescoring, "split_scores", lambda model_dir, examples_dir: unknown)
    with pytest.raises(RunResultsError, match="no image of a known class to choose tau on"):
        rescoring.rescored(model_result(False, 1))
