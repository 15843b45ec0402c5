import pytest

from evaluation import rescoring
from tests.model_results import model_result


def test_methods_are_checked_and_put_in_one_order():
    assert rescoring.rescoring_methods(["tau_norm", "posthoc", "tau_norm"]) == ("posthoc", "tau_norm")
    assert rescoring.rescoring_methods([]) == ()
    with pytest.raises(ValueError, match="unknown re-scoring cosine"):
        rescoring.rescoring_methods(["cosine"])


def test_each_method_adds_each_plain_model_not_yet_trained_with_it(monkeypatch):
    calls = []

    def fake(method):
        def rescored(model, say=None):
            calls.append((method, model.variant, model.seed))
            return model_result(model.co_trained, model.seed, method)
        return rescored

    monkeypatch.setattr(rescoring, "RESCORINGS", {"posthoc": fake("posthoc"), "tau_norm": fake("tau_norm")})
    models = [model_result(False, 1), model_result(True, 1), model_result(False, 1, "tau_norm"), model_result(False, 2, "posthoc")]
    out = rescoring.with_rescoring(models, ["tau_norm", "posthoc"])
    assert out[:4] == models
    # baseline seed 1 was trained with tau_norm; the re-balanced models themselves are never re-scored.
    # Model by model (each loaded once for its methods); the results method by method.
    assert calls == [("posthoc", "baseline", 1), ("posthoc", "sicot-mean", 1),
                     ("tau_norm", "sicot-mean", 1)]
    assert [m.variant for m in out[4:]] == ["baseline+posthoc", "sicot-mean+posthoc",
                                            "sicot-mean+tau_norm"]
    assert rescoring.with_rescoring(models, []) == models


def test_the_work_goes_model_by_model_and_the_results_method_by_method(monkeypatch):
    calls = []

    def fake(method):
        def rescored(model, say=None):
            calls.append((model.variant, method))
            return model_result(model.co_trained, model.seed, method)
        return rescored

    monkeypatch.setattr(rescoring, "RESCORINGS", {"ncm": fake("ncm"), "crt": fake("crt")})
    out = rescoring.with_rescoring([model_result(False, 1), model_result(True, 1)], ["crt", "ncm"])
    assert calls == [("baseline", "ncm"), ("baseline", "crt"),
                     ("sicot-mean", "ncm"), ("sicot-mean", "crt")]
    assert [m.variant for m in out[2:]] == ["baseline+ncm", "sicot-mean+ncm",
                                            "baseline+crt", "sicot-mean+crt"]


def test_an_archived_model_is_not_re_scored_and_says_why(monkeypatch):
    import dataclasses

    calls, said = [], []
    monkeypatch.setattr(rescoring, "RESCORINGS",
                        {"posthoc": lambda model, say=None: calls.append(model.seed) or model_result(False, model.seed, "posthoc")})
    archived = dataclasses.replace(model_result(False, 2), model_dir="", archived_from="archive.json (model 1)")
    out = rescoring.with_rescoring([model_result(False, 1), archived], ["posthoc"], said.append)
    assert calls == [1] and [(m.variant, m.seed) for m in out[2:]] == [("baseline+posthoc", 1)]
    assert said == ["baseline, seed 2: from the results archive archive.json (model 1), not re-scored "
                    "with posthoc (its model is not here)"]


def test_a_re_scoring_held_already_is_not_computed_again(monkeypatch):
    import dataclasses

    calls, said = [], []
    monkeypatch.setattr(rescoring, "RESCORINGS", {
        method: (lambda method: lambda model, say=None: calls.append((model.variant, model.seed, method))
                 or model_result(model.co_trained, model.seed, method))(method) for method in ("posthoc", "ncm")})
    # An archived model whose posthoc re-scoring is archived beside it: nothing to say about posthoc.
    archived = dataclasses.replace(model_result(False, 2), model_dir="", archived_from="archive.json (model 1)")
    archived_posthoc = dataclasses.replace(model_result(False, 2, "posthoc"), model_dir="", archived_from="archive.json (model 2)")
    out = rescoring.with_rescoring([model_result(False, 1), archived, archived_posthoc], ["posthoc"], said.append)
    assert calls == [("baseline", 1, "posthoc")] and said == [] and len(out) == 4
    # `scored`: pairs a results archive holds (archive_comparison re-scores only what it lacks).
    out = rescoring.with_rescoring([model_result(False, 1), model_result(True, 1)], ["posthoc", "ncm"],
                                   scored={("baseline+posthoc", 1), ("sicot-mean+ncm", 1)})
    assert calls[1:] == [("baseline", 1, "ncm"), ("sicot-mean", 1, "posthoc")]
    assert [m.variant for m in out[2:]] == ["sicot-mean+posthoc", "baseline+ncm"]


def test_re_scorings_come_after_the_trained_models_method_by_method():
    import dataclasses

    def rescored(co_trained, seed, method):
        return dataclasses.replace(model_result(co_trained, seed, method), rescored_by=method)

    trained = [model_result(False, 1), model_result(False, 2), model_result(True, 1), model_result(False, 1, "tau_norm")]
    # As latest_comparison sorts models read back from an archive: by name.
    mixed = sorted([*trained, rescored(True, 1, "ncm"), rescored(False, 2, "posthoc"), rescored(False, 1, "posthoc"),
                    rescored(False, 1, "ncm")], key=lambda m: (m.variant, m.seed))
    ordered = rescoring.in_report_order(mixed)
    assert [(m.variant, m.seed) for m in ordered] == [
        ("baseline", 1), ("baseline", 2), ("baseline+tau_norm", 1), ("sicot-mean", 1),
        ("baseline+posthoc", 1), ("baseline+posthoc", 2), ("baseline+ncm", 1), ("sicot-mean+ncm", 1)]
