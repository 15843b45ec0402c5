import pytest

from evaluation.compare import (
    comparison_config,
    planned_runs,
    produced_variants,
    reference_variant,
    results_name,
    time_left,
    variant_config,
)
from evaluation.run_results import shared_config_hash, variant_of
from sicot.config import ConfigError, SicotConfig


def test_variants_differ_only_in_the_variant_settings():
    config = SicotConfig()
    config.compare.variants = ["baseline", "sicot", "sicot-mean", "sicot-bilinear_attention"]
    config.compare.seeds = [1, 2]
    runs = planned_runs(config)
    # sicot == sicot-mean (the default encoder): it runs once per seed.
    assert [(variant_of(r), r.train.seed) for r in runs] == [
        ("baseline", 1), ("sicot-mean", 1), ("sicot-bilinear_attention", 1),
        ("baseline", 2), ("sicot-mean", 2), ("sicot-bilinear_attention", 2)]
    assert len({shared_config_hash(r) for r in runs}) == 1
    assert all(r.pipeline.enable_cache and r.output_path == config.output_path / "compare" for r in runs)


def test_comparison_leaves_the_users_config_alone():
    config = SicotConfig()
    comparison_config(config)
    variant_config(config, "baseline", 3)
    assert config.model.co_training and config.train.seed == 42 and not config.pipeline.enable_cache


@pytest.mark.parametrize("variants, seeds", [(["baseline", "lstm"], [1]), (["baseline", "sicot-lstm"], [1]), ([], [1]), (["baseline"], [])])
def test_bad_comparisons_are_refused(variants, seeds):
    config = SicotConfig()
    config.compare.variants, config.compare.seeds = variants, seeds
    with pytest.raises(ConfigError):
        planned_runs(config)


def test_long_tail_methods_combine_with_either_stream():
    config = SicotConfig()
    config.compare.variants = ["baseline", "baseline+logit_adjusted", "sicot+balanced_softmax+posthoc",
                               "sicot-mean+tau_norm"]
    runs = planned_runs(config)
    assert [variant_of(r) for r in runs] == [
        "baseline", "baseline+logit_adjusted", "sicot-mean+balanced_softmax+posthoc",
        "sicot-mean+tau_norm"]
    assert (runs[2].long_tail.loss, runs[2].long_tail.adjustment) == ("balanced_softmax", "posthoc")
    assert not runs[1].model.co_training and runs[3].model.co_training
    assert len({shared_config_hash(r) for r in runs}) == 1


def test_unknown_long_tail_method_is_refused():
    config = SicotConfig()
    config.compare.variants = ["baseline+focal"]
    with pytest.raises(ConfigError, match="unknown long-tail method 'focal'"):
        planned_runs(config)


def test_every_planned_variant_is_named_in_the_results_as_in_the_config():
    config = SicotConfig()
    config.compare.variants = ["baseline+posthoc", "sicot-mean", "sicot-bilstm+logit_adjusted"]
    assert [variant_of(r) for r in planned_runs(config)] == config.compare.variants


@pytest.mark.parametrize("old, new", [("cotraining", "sicot"), ("mean+tau_norm", "sicot-mean")])
def test_names_of_earlier_versions_say_the_new_name(old, new):
    config = SicotConfig()
    config.compare.variants = [old]
    with pytest.raises(ConfigError, match=f"'{old.split('+')[0]}' is now called '{new}'"):
        planned_runs(config)


def test_a_reference_is_named_as_the_results_name_it_and_must_be_compared():
    config = SicotConfig()
    config.compare.variants = ["baseline+logit_adjusted", "sicot", "sicot+tau_norm"]
    produced = produced_variants(planned_runs(config))
    assert produced == ["baseline+logit_adjusted", "sicot-mean", "sicot-mean+tau_norm"]
    assert reference_variant(config, "sicot+tau_norm", produced) == "sicot-mean+tau_norm"
    assert reference_variant(config, "baseline+logit_adjusted", produced) == "baseline+logit_adjusted"
    with pytest.raises(ConfigError, match=r"'baseline' \(baseline\) is not among the compared models"):
        reference_variant(config, "baseline", produced)
    with pytest.raises(ConfigError, match="unknown variant"):
        reference_variant(config, "resnet", produced)


def test_a_rescoring_only_a_report_makes_has_a_results_name_too():
    config = SicotConfig()
    assert results_name(config, "sicot+crt_mixed") == "sicot-mean+crt_mixed"
    assert results_name(config, "sicot-mean+logit_adjusted+title_ncm") == "sicot-mean+logit_adjusted+title_ncm"
    assert results_name(config, "baseline+ncm") == "baseline+ncm"
    with pytest.raises(ConfigError, match="unknown variant"):
        results_name(config, "resnet+crt_mixed")


def test_rescored_variants_can_be_the_reference_but_not_of_rebalanced_models():
    config = SicotConfig()
    config.compare.variants = ["baseline", "sicot+tau_norm", "sicot+logit_adjusted"]
    produced = produced_variants(planned_runs(config), rescore=("posthoc",))
    assert produced == ["baseline", "sicot-mean+tau_norm", "sicot-mean+logit_adjusted",
                        "baseline+posthoc", "sicot-mean+logit_adjusted+posthoc"]
    assert reference_variant(config, "baseline+posthoc", produced) == "baseline+posthoc"
    with pytest.raises(ConfigError):
        reference_variant(config, "baseline+posthoc", produced_variants(planned_runs(config)))
    # Both re-scorings, in one order whatever the order asked; a trained variant is named once.
    both = produced_variants(planned_runs(config), rescore=("tau_norm", "posthoc"))
    assert both == ["baseline", "sicot-mean+tau_norm", "sicot-mean+logit_adjusted",
                    "baseline+posthoc", "sicot-mean+logit_adjusted+posthoc", "baseline+tau_norm",
                    "sicot-mean+logit_adjusted+tau_norm"]
    assert reference_variant(config, "baseline+tau_norm", both) == "baseline+tau_norm"


@pytest.mark.parametrize("durations, left, text", [
    ([1200.0, 1260.0], 22, "; 22 left, at most about 7 h 31 min at the mean of the 2 that trained so far"),
    ([1.0, 1.2, 600.0], 3, "; 3 left, at most about 30 min at the mean of the 1 that trained so far"),  # cached runs left out
    ([1.0, 2.0], 4, ""),  # nothing trained yet: no estimate
    ([900.0], 0, ""),  # the last run
])
def test_the_time_left_is_estimated_from_the_runs_that_trained(durations, left, text):
    assert time_left(durations, left) == text


def test_planned_runs_a_results_archive_holds_are_not_trained(monkeypatch, tmp_path):
    import dataclasses

    from evaluation import compare
    from evaluation.results_archive import write_archive
    from models import custom_config
    from tests.model_results import model_result

    config = SicotConfig()
    config.pipeline.output_dir = str(tmp_path / "out")
    config.compare.seeds = [1, 2]
    config.compare.split = "test"
    trained = []
    monkeypatch.setattr(compare.local_runner, "run", lambda run, push: trained.append((variant_of(run), run.train.seed)))
    # The baseline of seed 2 trained elsewhere (its settings as the Trainer recorded them).
    [baseline_2] = [r for r in planned_runs(config) if r.train.seed == 2 and not r.model.co_training]
    recorded = custom_config.decode(custom_config.encode(baseline_2))
    archived = dataclasses.replace(model_result(False, 2), config=recorded, config_hash=shared_config_hash(recorded),
                                   split="test")
    config.compare.archives = [str(write_archive([archived], tmp_path / "archive.json")[0])]
    said = []
    assert compare.run_comparison(config, say=said.append) == tmp_path / "out" / "compare"
    assert trained == [("baseline", 1), ("sicot-mean", 1), ("sicot-mean", 2)]
    assert f"==> compare [3/4]  baseline, seed 2: in {tmp_path / 'archive.json'} (model 1, baseline, seed 2), not trained" in said
    # An archive of the validation split's models is another comparison: everything trains.
    config.compare.split = "validation"
    trained.clear()
    compare.run_comparison(config, say=said.append)
    assert len(trained) == 4


def test_with_archive_to_the_comparison_is_archived_after_each_trained_run(monkeypatch, tmp_path):
    from evaluation import compare

    config = SicotConfig()
    config.pipeline.output_dir = str(tmp_path / "out")
    config.compare.seeds = [1]
    events = []
    monkeypatch.setattr(compare.local_runner, "run", lambda run, push: events.append(("train", variant_of(run))))

    def archive(run_dir, path, wanted=None, rescore=(), say=None, only=None):
        events.append(("archive", str(run_dir), str(path), wanted, tuple(rescore), frozenset(only)))
        return [], path, 1, 0

    monkeypatch.setattr(compare, "archive_comparison", archive)
    compare.run_comparison(config, say=lambda line: None, archive_to=tmp_path / "a.json", rescore=("ncm",))
    # Each model is archived with the plan's re-scorings, and only the plan's models: the
    # folder may hold another plan's seeds of the same settings.
    archived = ("archive", str(tmp_path / "out" / "compare"), str(tmp_path / "a.json"),
                compare.planned_comparison(config), ("ncm",),
                frozenset({("baseline", 1), ("sicot-mean", 1)}))
    assert events == [("train", "baseline"), archived, ("train", "sicot-mean"), archived]


def test_the_archive_written_to_is_read_too_so_a_comparison_started_again_trains_only_what_it_lacks(tmp_path,
                                                                                                     monkeypatch):
    from evaluation import compare

    archive = tmp_path / "a.json"
    config = SicotConfig()
    config.compare.archives = [str(tmp_path / "other.json")]
    # Not written yet (the first start): nothing to read.
    assert compare.reading_archive_to(config, archive) is config
    assert compare.reading_archive_to(config, None) is config
    archive.write_text("{}")
    reading = compare.reading_archive_to(config, archive)
    assert reading.compare.archives == [str(tmp_path / "other.json"), str(archive)]
    assert config.compare.archives == [str(tmp_path / "other.json")]  # the caller's config is left as it was
    # Listed already, under another spelling of the same path: not read twice.
    monkeypatch.chdir(tmp_path)
    config.compare.archives = ["a.json"]
    assert compare.reading_archive_to(config, archive).compare.archives == ["a.json"]


@pytest.mark.parametrize("split, sealed, message", [
    ("validation", ["validation"], "is the split the comparison is scored on"),
    ("validation", ["train"], "compare.sealed_splits: unknown evaluation split 'train'"),
    ("validation", ["test", "test"], "named twice"),
])
def test_bad_sealed_splits_are_refused_before_any_training(split, sealed, message):
    config = SicotConfig()
    config.compare.split, config.compare.sealed_splits = split, sealed
    with pytest.raises(ConfigError, match=message):
        planned_runs(config)


def test_a_sealed_split_is_scored_first_and_archived_and_found_there_by_the_plan_on_that_split(monkeypatch, tmp_path):
    from evaluation import compare
    from evaluation.results_archive import planned_key

    config = SicotConfig()
    config.pipeline.output_dir = str(tmp_path / "out")
    config.compare.seeds = [1]
    config.compare.variants = ["baseline"]
    config.compare.sealed_splits = ["test"]
    events, archive = [], {}
    monkeypatch.setattr(compare.local_runner, "run",
                        lambda run, push: events.append(("score", run.eval.split, run.train.seed)))

    def archive_comparison(run_dir, path, wanted=None, rescore=(), say=None, only=None):
        events.append(("archive", wanted[1], tuple(rescore), say is not None))
        archive[wanted[1]] = wanted
        return [], path, 1, 0

    monkeypatch.setattr(compare, "archive_comparison", archive_comparison)
    said = []
    compare.run_comparison(config, say=said.append, archive_to=tmp_path / "a.json", rescore=("posthoc",))
    # Test first (sealed), then the comparison's own split, which is then the folder's newest;
    # the sealed re-scorings say nothing (they would print their test top-1).
    assert events == [("score", "test", 1), ("archive", "test", ("posthoc",), False),
                      ("score", "validation", 1), ("archive", "validation", ("posthoc",), True)]
    assert "    [baseline, seed 1] scored on the test split too, sealed: not shown here" in said
    # Both scorings are of one training: the same shared settings.
    assert archive["test"][0] == archive["validation"][0] == compare.planned_comparison(config)[0]
    # The sealed scoring is the model the later test plan would train: its archive key.
    [run] = planned_runs(config)
    [sealed] = compare.sealed_runs(run, ["test"])
    test_plan = SicotConfig.from_dict(config.to_dict())
    test_plan.compare.split, test_plan.compare.sealed_splits = "test", []
    assert planned_key(sealed) == planned_key(planned_runs(test_plan)[0])


def test_a_sealed_scoring_the_archives_hold_is_not_made_again(monkeypatch, tmp_path):
    from evaluation import compare
    from evaluation.results_archive import planned_key

    config = SicotConfig()
    config.pipeline.output_dir = str(tmp_path / "out")
    config.compare.seeds, config.compare.variants, config.compare.sealed_splits = [1], ["baseline"], ["test"]
    [run] = planned_runs(config)
    [sealed] = compare.sealed_runs(run, ["test"])
    scored = []
    monkeypatch.setattr(compare.local_runner, "run", lambda run, push: scored.append(run.eval.split))
    monkeypatch.setattr(compare, "archived_runs", lambda models: {planned_key(sealed): object()})
    compare.run_comparison(config, say=lambda line: None)
    # Stopped after the sealed scoring last time: only the comparison's own split is scored.
    assert scored == ["validation"]
