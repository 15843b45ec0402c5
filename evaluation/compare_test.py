import pytest

from evaluation.compare import comparison_config, planned_runs, variant_config
from evaluation.run_results import shared_config_hash, variant_of
from sicot.config import ConfigError, SicotConfig


def test_variants_differ_only_in_the_variant_settings():
    config = SicotConfig()
    config.compare.variants = ["baseline", "cotraining", "mean", "bilinear_attention"]
    config.compare.seeds = [1, 2]
    runs = planned_runs(config)
    # cotraining == bilinear_attention (the default encoder): it runs once per seed.
    assert [(variant_of(r), r.train.seed) for r in runs] == [
        ("baseline", 1), ("sicot-bilinear_attention", 1), ("sicot-mean", 1),
        ("baseline", 2), ("sicot-bilinear_attention", 2), ("sicot-mean", 2)]
    assert len({shared_config_hash(r) for r in runs}) == 1
    assert all(r.pipeline.enable_cache and r.output_path == config.output_path / "compare" for r in runs)


def test_comparison_leaves_the_users_config_alone():
    config = SicotConfig()
    comparison_config(config)
    variant_config(config, "baseline", 3)
    assert config.model.co_training and config.train.seed == 42 and not config.pipeline.enable_cache


@pytest.mark.parametrize("variants, seeds", [(["baseline", "lstm"], [1]), ([], [1]), (["baseline"], [])])
def test_bad_comparisons_are_refused(variants, seeds):
    config = SicotConfig()
    config.compare.variants, config.compare.seeds = variants, seeds
    with pytest.raises(ConfigError):
        planned_runs(config)
