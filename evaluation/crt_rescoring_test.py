"""cRT re-scoring on a fake evaluation model with real variables (the feature probe
itself: ncm_rescoring_test.py): the classifier trained again on the probed training
features with the model's settings and seed, scored, and the trained weights put back."""

import numpy as np
import pytest

from evaluation import crt_rescoring as crt
from evaluation import ncm_rescoring as ncm
from evaluation import rescoring
from evaluation.ncm_rescoring_test import BIAS, KERNEL, TEST, TRAIN, VALIDATION
from models.classifier_retraining import retrained_classifier, settings_from_config
from tests import fake_evaluation_model
from tests.model_results import model_result


def _fake_model(monkeypatch):
    return fake_evaluation_model.install(monkeypatch, ncm, KERNEL, BIAS,
                                         {"Split-train": TRAIN, "Split-validation": VALIDATION, "Split-eval": TEST})


def test_the_model_is_scored_by_its_retrained_classifier_and_its_weights_come_back(monkeypatch):
    kernel, bias, read = _fake_model(monkeypatch)
    model = model_result(False, 1)
    assert np.argmax(TEST[0] @ KERNEL + BIAS, axis=1).tolist() == [0, 0, 0]  # all to the head class
    said = []
    out = crt.rescored(model, said.append)
    expected_kernel, expected_bias = retrained_classifier(TRAIN[0], TRAIN[1], 3, settings_from_config(model.config),
                                                          seed=1)
    expected = np.argmax(TEST[0] @ expected_kernel + expected_bias, axis=1)
    assert expected.tolist() == [1, 2, 0]  # class-balanced: the tail images go to their classes
    assert out.class_hits.tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [2, 1, 1, 1]]
    assert out.slices["tail"]["top1_accuracy"] == 1.0
    assert out.variant == "baseline+crt" and out.config.long_tail.adjustment == "crt"
    assert said == ["baseline+crt, seed 1: classifier trained again on 5 training images' features, classes "
                    "sampled equally often (10 epochs); validation top-1 100.0%; test top-1 100.0%"]
    assert read == ["Split-train", "Split-train", "Split-validation", "Split-eval"]
    np.testing.assert_array_equal(kernel.numpy(), KERNEL)
    np.testing.assert_array_equal(bias.numpy(), BIAS)


def test_the_models_seed_and_settings_decide_the_fit(monkeypatch):
    _fake_model(monkeypatch)
    seen = []
    monkeypatch.setattr(crt, "retrained_classifier",
                        lambda x, labels, classes, settings, seed: seen.append((settings.epochs, seed))
                        or (np.eye(3), np.zeros(3)))
    model = model_result(False, 2)
    model.config.long_tail.crt_epochs = 3
    crt.rescored(model)
    assert seen == [(3, 2)]


def test_crt_is_a_rescoring_method_by_name():
    assert rescoring.rescoring_methods(["crt", "ncm", "posthoc"]) == ("posthoc", "ncm", "crt")
    assert rescoring.rescored_names([model_result(False, 1).config], ["crt"]) == ["baseline+crt"]
    assert "classifier re-training" in rescoring.DESCRIPTIONS["crt"]


def test_ncm_then_crt_of_one_loaded_model_probe_its_training_split_once(monkeypatch):
    _, _, read = _fake_model(monkeypatch)
    model = model_result(False, 1)
    ncm.rescored(model)
    crt.rescored(model)
    assert read == ["Split-train", "Split-train", "Split-validation", "Split-eval", "Split-validation", "Split-eval"]
    # Another loaded model (a reload, or another model at the same path) is probed again.
    _, _, read_again = _fake_model(monkeypatch)
    crt.rescored(model)
    assert read_again[:2] == ["Split-train", "Split-train"]


# Titles of the training images: the 4th has none left after the vocabulary's drops.
SEMANTIC = np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [9.0, 9.0, 9.0], [0.5, 0.5, 0.5]])
TITLED = np.array([True, True, True, False, True])


def _fit_inputs_of_crt_mixed(monkeypatch) -> list:
    """The fake model with SEMANTIC / TITLED as its training titles; the list collects
    what each fit was given, (features, labels, classes, seed)."""
    seen = []
    monkeypatch.setattr(crt, "title_embeddings", lambda model_dir, folder: (SEMANTIC, TITLED))
    monkeypatch.setattr(crt, "retrained_classifier",
                        lambda x, labels, classes, settings, seed: seen.append((x, labels, classes, seed))
                        or (np.eye(3), np.zeros(3)))
    return seen


def test_crt_mixed_fits_on_the_visual_and_the_titled_images_mixed_features(monkeypatch):
    _, _, read = _fake_model(monkeypatch)
    seen = _fit_inputs_of_crt_mixed(monkeypatch)
    said = []
    out = crt.rescored_mixed(model_result(True, 4), said.append)
    (x, labels, classes, seed), = seen
    # x_v of all five, then max(x_v, s) of the four with a title, with their labels.
    np.testing.assert_allclose(x[:5], TRAIN[0], atol=2e-4)
    np.testing.assert_allclose(x[5:], np.maximum(TRAIN[0][TITLED], SEMANTIC[TITLED]), atol=2e-4)
    assert labels.tolist() == [0, 0, 0, 1, 2, 0, 0, 0, 2] and classes == 3 and seed == 4
    assert out.variant == "sicot-mean+crt_mixed"
    assert "the mixed features of the 4 with a title" in said[0]
    assert read[:1] == ["Split-train"]


def test_crt_mixed_rescales_the_title_as_the_model_did_and_is_for_co_trained_models_only(monkeypatch):
    _fake_model(monkeypatch)
    seen = _fit_inputs_of_crt_mixed(monkeypatch)
    model = model_result(True, 1)
    model.config.model.mixed_stream_scaling = "visual_norm"
    crt.rescored_mixed(model)
    visual, semantic = TRAIN[0][TITLED], SEMANTIC[TITLED]
    rescaled = semantic * np.linalg.norm(visual, axis=1, keepdims=True) / np.linalg.norm(semantic, axis=1, keepdims=True)
    np.testing.assert_allclose(seen[0][0][5:], np.maximum(visual, rescaled), atol=2e-4)
    with pytest.raises(ValueError, match="visual-only model has no title stream"):
        crt.rescored_mixed(model_result(False, 1))
    assert rescoring.rescored_names([model_result(False, 1).config, model_result(True, 1).config], ["crt_mixed"]) == [
        "sicot-mean+crt_mixed"]
