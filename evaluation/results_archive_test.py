"""The results archive on hand-made model results (tests/model_results.py); the archive
of a real comparison, read back by `sicot compare` without training, is checked end to
end in tests/evaluation_report_e2e_test.py."""

import dataclasses
import json

import numpy as np
import pytest

from evaluation import compare
from evaluation.results_archive import (
    SCHEMA,
    archive_key,
    planned_key,
    read_archive,
    read_archives,
    write_archive,
)
from evaluation.run_results import RunResultsError, co_training_settings, shared_config_hash
from models import custom_config
from sicot.config import SicotConfig
from tests.model_results import model_result


def _with_numbers(model, top1: float):
    return dataclasses.replace(
        model, slices={"overall": {"top1_accuracy": top1, "example_count": 3.0},
                       "tail": {"top1_accuracy": top1 / 2, "example_count": 2.0}},
        intervals={"overall": {"top1_accuracy": (top1 - 0.1, top1 + 0.1)}},
        class_hits=np.array([[0, 1, 1, 1], [1, 1, 0, 1], [2, 1, 0, 0]]))


def test_an_archived_model_reads_back_with_every_number_and_no_folders(tmp_path):
    original = _with_numbers(model_result(True, 3), 0.5)
    path, added, replaced = write_archive([original], tmp_path / "a" / "archive.json")
    assert (added, replaced) == (1, 0) and path.exists()
    [back] = read_archive(path)
    assert back.archived and not original.archived
    assert back.archived_from.startswith(str(path)) and back.model_dir == back.evaluation_dir == ""
    assert archive_key(back) == archive_key(original)
    assert back.config.to_dict() == original.config.to_dict()
    assert back.slices == original.slices and back.intervals == original.intervals
    np.testing.assert_array_equal(back.class_hits, original.class_hits)
    assert (back.labels, back.train_counts, back.blessed) == (original.labels, original.train_counts, True)
    assert json.loads(path.read_text())["models"][0]["trained_in"] == original.model_dir


def test_archiving_again_replaces_the_same_model_and_keeps_the_others(tmp_path):
    path = tmp_path / "archive.json"
    write_archive([_with_numbers(model_result(False, 2), 0.4), _with_numbers(model_result(True, 2), 0.5)], path)
    _, added, replaced = write_archive(
        [_with_numbers(model_result(True, 2), 0.7), _with_numbers(model_result(False, 1), 0.3)], path)
    assert (added, replaced) == (1, 1)
    models = read_archive(path)
    # Sorted by split, seed, baseline first; the re-archived co-trained model has its new numbers.
    assert [(m.variant, m.seed) for m in models] == [("baseline", 1), ("baseline", 2), ("sicot-mean", 2)]
    assert models[2].slices["overall"]["top1_accuracy"] == 0.7
    # The older entry's provenance is kept as it was written.
    assert json.loads(path.read_text())["models"][1]["trained_in"] == model_result(False, 2).model_dir


def test_archived_models_are_not_archived_again(tmp_path):
    first = tmp_path / "first.json"
    write_archive([model_result(False, 1)], first)
    _, added, replaced = write_archive(read_archive(first), tmp_path / "second.json")
    assert (added, replaced) == (0, 0)
    assert read_archive(tmp_path / "second.json") == []


def test_several_archives_read_in_order(tmp_path):
    write_archive([model_result(False, 1)], tmp_path / "x.json")
    write_archive([model_result(True, 1)], tmp_path / "y.json")
    assert [m.co_trained for m in read_archives([tmp_path / "y.json", tmp_path / "x.json"])] == [True, False]


def test_a_planned_run_has_the_key_of_the_model_it_would_produce():
    config = SicotConfig()
    config.compare.seeds = [5]
    config.compare.split = "test"
    runs = compare.planned_runs(config)
    archived = []
    for run in runs:  # as run_results reads them back: the Trainer's settings, the Evaluator's split
        model = model_result(run.model.co_training, 5)
        model.config = custom_config.decode(custom_config.encode(run))
        archived.append(dataclasses.replace(model, config_hash=shared_config_hash(model.config), split="test"))
    assert [planned_key(run) for run in runs] == [archive_key(m) for m in archived]
    # Another training length is another comparison: not found in the archive.
    config.train.epochs += 1
    assert {planned_key(run) for run in compare.planned_runs(config)}.isdisjoint(map(archive_key, archived))
    assert compare.planned_comparison(config)[1] == "test"
    # A setting of the semantic stream alone (not in the shared hash: a baseline is
    # compared with co-trained models of any of them) is another co-trained model, and
    # the same baseline: found again, the co-trained one not (stop 47 trained nothing
    # for a lambda-2 plan, taking the archived lambda-1 model for it).
    config.train.epochs -= 1
    config.model.mixed_loss_weight = 2.0
    found = {planned_key(run) for run in compare.planned_runs(config)} & set(map(archive_key, archived))
    assert [key[0] for key in found] == ["baseline"]
    # The plan's report shows the co-trained models of its own settings (not another
    # lambda's archived beside them); a plan that co-trains nothing names none.
    planned = compare.planned_comparison(config)
    assert planned.co_training == co_training_settings(compare.planned_runs(config)[1]) != planned_key(runs[1])[4]
    config.compare.variants = ["baseline"]
    assert compare.planned_comparison(config).co_training is None


def _write(path, document):
    path.write_text(json.dumps(document))
    return path


def test_bad_archives_are_refused_with_where(tmp_path):
    with pytest.raises(RunResultsError, match="not found"):
        read_archive(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(RunResultsError, match="broken.json is not valid JSON"):
        read_archive(tmp_path / "broken.json")
    with pytest.raises(RunResultsError, match="not a results archive .schema 'sicot.results/"):
        read_archive(_write(tmp_path / "results.json", {"schema": "sicot.results/3", "models": []}))
    good = tmp_path / "good.json"
    write_archive([model_result(False, 1), model_result(True, 1)], good)
    document = json.loads(good.read_text())

    edited = json.loads(json.dumps(document))
    edited["models"][1]["variant"] = "baseline"  # renamed by hand: would be compared as the baseline
    with pytest.raises(RunResultsError, match=r"model 2, baseline, seed 1.*do not match its configuration"):
        read_archive(_write(tmp_path / "renamed.json", edited))


    edited = json.loads(json.dumps(document))
    del edited["models"][0]["slices"]
    with pytest.raises(RunResultsError, match="model 1.*not a results archive entry .KeyError"):
        read_archive(_write(tmp_path / "truncated.json", edited))
    assert json.loads(good.read_text())["schema"] == SCHEMA


def test_an_archive_that_cannot_be_read_is_not_overwritten(tmp_path):
    path = _write(tmp_path / "archive.json", {"schema": "something else"})
    with pytest.raises(RunResultsError):
        write_archive([model_result(False, 1)], path)
    assert json.loads(path.read_text()) == {"schema": "something else"}


def test_the_file_has_one_line_a_model(tmp_path):
    path, _, _ = write_archive([model_result(False, 1), model_result(True, 1)], tmp_path / "archive.json")
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0] == f'{{"schema": "{SCHEMA}", "models": [' and lines[-1] == "]}"
    assert [json.loads(line.rstrip(","))["variant"] for line in lines[1:3]] == ["baseline", "sicot-mean"]


def test_re_scorings_are_archived_beside_their_models_and_computed_once(tmp_path, monkeypatch):
    from evaluation import rescoring, results_archive

    trained = [_with_numbers(model_result(False, 1), 0.4), _with_numbers(model_result(True, 1), 0.5)]
    monkeypatch.setattr(results_archive, "metadata_path_of", lambda run_dir: run_dir)
    monkeypatch.setattr(results_archive, "collect_model_results", lambda metadata: list(trained))
    calls = []

    def posthoc(model, say=None):
        calls.append((model.variant, model.seed))
        return dataclasses.replace(_with_numbers(model_result(model.co_trained, model.seed, "posthoc"), 0.9),
                                   split=model.split, rescored_by="posthoc")

    monkeypatch.setattr(rescoring, "RESCORINGS", {"posthoc": posthoc})
    path = tmp_path / "archive.json"
    models, _, added, replaced = results_archive.archive_comparison("run", path, rescore=["posthoc"])
    assert calls == [("baseline", 1), ("sicot-mean", 1)] and (added, replaced) == (4, 0)
    back = {(m.variant, m.seed): m for m in read_archive(path)}
    assert set(back) == {("baseline", 1), ("sicot-mean", 1), ("baseline+posthoc", 1),
                         ("sicot-mean+posthoc", 1)}
    assert back[("baseline+posthoc", 1)].slices["overall"]["top1_accuracy"] == 0.9
    assert back[("baseline+posthoc", 1)].config.long_tail.adjustment == "posthoc"
    assert back[("baseline+posthoc", 1)].rescored_by == "posthoc" and back[("baseline", 1)].rescored_by == ""
    # Another model trained (compare --archive archives after each): only it is re-scored.
    trained.append(_with_numbers(model_result(False, 2), 0.3))
    calls.clear()
    _, _, added, replaced = results_archive.archive_comparison("run", path, rescore=["posthoc"])
    assert calls == [("baseline", 2)] and (added, replaced) == (2, 2)
    assert len(read_archive(path)) == 6
    # A re-scoring held for another split is not this comparison's: computed.
    trained[:] = [dataclasses.replace(m, split="validation") for m in trained]
    calls.clear()
    results_archive.archive_comparison("run", path, rescore=["posthoc"])
    assert len(calls) == 3 and len(read_archive(path)) == 12


def test_the_hash_is_computed_from_the_archived_settings_so_settings_added_later_keep_it(tmp_path):
    path = tmp_path / "archive.json"
    write_archive([model_result(False, 1), model_result(True, 1)], path)
    document = json.loads(path.read_text())
    planned = [archive_key(m) for m in read_archive(path)]
    # Written by an older sicot: a setting it did not have yet (compare.rescore, added in
    # stop 36, which changed every hash), its hash computed without it.
    for entry in document["models"]:
        del entry["config"]["compare"]["rescore"]
        entry["config_hash"] = "0ld0ld0ld0ld"
    assert [archive_key(m) for m in read_archive(_write(tmp_path / "older.json", document))] == planned
    # Settings changed by hand: another comparison's model now (a different hash), not this one's.
    document["models"][0]["config"]["train"]["epochs"] += 1
    edited = read_archive(_write(tmp_path / "edited.json", document))
    assert archive_key(edited[0]) != planned[0] and archive_key(edited[1]) == planned[1]
    assert edited[0].config_hash == shared_config_hash(edited[0].config)


def test_a_model_archived_before_a_setting_existed_is_not_taken_for_one_with_its_new_default(tmp_path):
    # The models of an archive written before stop 49, when mixed-stream distillation did
    # not exist: the SICoT one trained without it; since stop 50 the default is kappa 1.
    today, without = SicotConfig(), SicotConfig()
    without.model.mixed_distillation_weight = 0.0
    for config in (today, without):
        config.compare.seeds, config.compare.split = [1], "test"
    archived = []
    for run in compare.planned_runs(without):  # as run_results reads them back (see above)
        model = model_result(run.model.co_training, 1)
        model.config = custom_config.decode(custom_config.encode(run))
        archived.append(dataclasses.replace(model, config_hash=shared_config_hash(model.config), split="test"))
    path = tmp_path / "archive.json"
    write_archive(archived, path)
    document = json.loads(path.read_text())
    for entry in document["models"]:
        for key in ("mixed_distillation_weight", "mixed_distillation_temperature"):
            del entry["config"]["model"][key]
    baseline, sicot = read_archive(_write(tmp_path / "older.json", document))
    assert sicot.config.model.mixed_distillation_weight == 0.0
    found = set(map(archive_key, (baseline, sicot)))
    # A plan at today's defaults finds the baseline (no semantic stream) and not the
    # co-trained model; a plan that names kappa 0 finds both.
    assert [planned_key(run) in found for run in compare.planned_runs(without)] == [True, True]
    assert [planned_key(run) in found for run in compare.planned_runs(today)] == [True, False]


def test_a_plan_archives_only_its_own_models_of_the_folders_comparison(tmp_path, monkeypatch):
    # Stop 42: a comparison folder held seeds 15-22 an earlier plan had trained with the
    # same settings; a new plan's --archive took them into its archive too.
    from evaluation import results_archive

    trained = [model_result(False, 1), model_result(True, 1), model_result(False, 15), model_result(True, 15)]
    monkeypatch.setattr(results_archive, "metadata_path_of", lambda run_dir: run_dir)
    monkeypatch.setattr(results_archive, "collect_model_results", lambda metadata: list(trained))
    path = tmp_path / "archive.json"
    models, _, added, _ = results_archive.archive_comparison("run", path, only={("baseline", 1)})
    assert [(m.variant, m.seed) for m in models] == [("baseline", 1)] and added == 1
    assert [(m.variant, m.seed) for m in read_archive(path)] == [("baseline", 1)]
    with pytest.raises(RunResultsError, match="none of the planned models is in run's comparison"):
        results_archive.archive_comparison("run", path, only={("baseline", 3)})
    # Without a plan (sicot archive RUN_DIR), the whole comparison.
    models, _, _, _ = results_archive.archive_comparison("run", path)
    assert len(models) == 4 and len(read_archive(path)) == 4
