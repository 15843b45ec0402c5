"""``sicot compare``: baseline vs co-training (and title encoders) on identical data.

Every variant of ``compare.variants`` is trained once per seed of ``compare.seeds``
by the same pipeline (LocalDagRunner) over the same data, with every other setting
equal, and evaluated by TFMA inside the pipeline (head/tail and bucket
slices). The runs share one pipeline root and one ML Metadata store under
``<output_dir>/compare/`` with caching on, so ExampleGen, statistics, schema and
Transform run once and later variants reuse them. No model is pushed.

Variants carry the names the results use: ``baseline`` (visual only),
``sicot-<title encoder>`` (SICoT with that encoder: ``sicot-mean``, ``sicot-bilstm``,
``sicot-bilstm_attention``, ``sicot-bilinear_attention``; the paper's Table 3), or
``sicot``, short for ``sicot-<model.title_encoder>``; each optionally followed by
long-tail methods joined with ``+``: a training loss (``logit_adjusted``,
``balanced_softmax``) and/or a classifier re-balancing (``posthoc``, ``tau_norm``,
``ncm``, ``crt``), e.g. ``baseline+logit_adjusted``, ``sicot+balanced_softmax+posthoc``.
A variant that names no method keeps the ``long_tail`` settings of the configuration.

``compare.sealed_splits`` (e.g. ``[test]`` for a comparison on validation) scores every
model it trains on those splits too and archives the results unshown: tuning reads the
validation numbers, and the test run planned afterwards finds its models' test numbers
in the archive instead of training them again.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from components.ingest import fingerprints_held
from evaluation.rescoring import rescored_names
from evaluation.rescoring_names import RESCORING_NAMES
from evaluation.results_archive import archive_comparison, archived_runs, planned_key, read_archives
from evaluation.run_results import BASELINE, Comparison, variant_of
from models.classifier_rebalancing import ADJUSTMENTS
from models.logit_adjusted_loss import LOSSES
from models.title_encoders import ENCODERS
from sicot.config import ConfigError, SicotConfig
from tfx_pipeline import local_runner
from tfx_pipeline.eval_config import example_split

SICOT = "sicot"
VARIANTS = (BASELINE, SICOT, *(f"{SICOT}-{encoder}" for encoder in ENCODERS))
# Names of earlier versions, refused with the name to use now.
_RENAMED = {"cotraining": SICOT, **{encoder: f"{SICOT}-{encoder}" for encoder in ENCODERS}}
LONG_TAIL_METHODS = tuple(m for m in (*LOSSES, *ADJUSTMENTS) if m not in ("softmax", "none"))


def variant_config(config: SicotConfig, variant: str, seed: int) -> SicotConfig:
    base, *methods = variant.split("+")
    if base in _RENAMED:
        raise ConfigError(f"compare.variants: '{base}' is now called '{_RENAMED[base]}' (in '{variant}')")
    if base not in VARIANTS:
        raise ConfigError(f"compare.variants: unknown variant '{variant}' (known: {', '.join(VARIANTS)}, "
                          f"each optionally +{'/+'.join(LONG_TAIL_METHODS)})")
    out = copy.deepcopy(config)
    out.train.seed = seed
    out.model.co_training = base != BASELINE
    if base.startswith(f"{SICOT}-"):
        out.model.title_encoder = base[len(SICOT) + 1:]
    for method in methods:
        if method in LOSSES and method != "softmax":
            out.long_tail.loss = method
        elif method in ADJUSTMENTS and method != "none":
            out.long_tail.adjustment = method
        else:
            raise ConfigError(f"compare.variants: unknown long-tail method '{method}' in '{variant}' "
                              f"(known: {', '.join(LONG_TAIL_METHODS)})")
    return out


def comparison_config(config: SicotConfig) -> SicotConfig:
    """Where the comparison's runs live (<output_dir>/compare, caching on) and the split
    they are scored on (compare.split: a model trained for one split is reused, not
    retrained, when the comparison is scored on the other)."""
    out = copy.deepcopy(config)
    out.pipeline.output_dir = str(config.output_path / "compare")
    out.pipeline.enable_cache = True
    out.eval.split = config.compare.split
    return out


def planned_runs(config: SicotConfig) -> list[SicotConfig]:
    """One configuration per (seed, variant); variants that end up equal run once."""
    if not config.compare.variants or not config.compare.seeds:
        raise ConfigError("compare.variants and compare.seeds must not be empty")
    _check_sealed_splits(config)
    base = comparison_config(config)
    runs, seen = [], set()
    for seed in config.compare.seeds:
        for variant in config.compare.variants:
            run = variant_config(base, variant, seed)
            key = run.to_json()
            if key not in seen:
                seen.add(key)
                runs.append(run)
    return runs


def _check_sealed_splits(config: SicotConfig) -> None:
    sealed = config.compare.sealed_splits
    for split in sealed:
        try:
            example_split(split)
        except ConfigError as e:
            raise ConfigError(f"compare.sealed_splits: {e}") from None
        if split == config.compare.split:
            raise ConfigError(f"compare.sealed_splits: '{split}' is the split the comparison is scored on "
                              "(compare.split); a sealed split is another one")
    if len(set(sealed)) < len(sealed):
        raise ConfigError(f"compare.sealed_splits: a split named twice in {sealed}")


def sealed_runs(run: SicotConfig, sealed_splits) -> list[SicotConfig]:
    """``run`` scored on each split of ``sealed_splits`` instead of its own (the same
    training: the scored split is no part of the Trainer's settings, so its cache serves)."""
    sealed = []
    for split in sealed_splits:
        other = copy.deepcopy(run)
        other.eval.split = split
        sealed.append(other)
    return sealed


def produced_variants(configs: list[SicotConfig], rescore=()) -> list[str]:
    """The results' names of the models of ``configs``, then the re-scored
    ``<variant>+<method>`` of each one without a re-balancing, for each method of
    ``rescore`` (evaluation/rescoring.py)."""
    names = [variant_of(c) for c in configs]
    names += rescored_names(configs, rescore)
    return list(dict.fromkeys(names))


def results_name(config: SicotConfig, name: str) -> str:
    """The results' name of the variant ``name`` (``sicot+logit_adjusted`` ->
    ``sicot-<encoder>+logit_adjusted``), also of a re-scoring that only a report makes
    (``sicot+crt_mixed``: evaluation/rescoring.py); an unknown variant is refused."""
    trained, _, last = name.rpartition("+")
    if trained and last in RESCORING_NAMES and last not in ADJUSTMENTS:
        return f"{results_name(config, trained)}+{last}"
    return variant_of(variant_config(config, name, config.train.seed))


def reference_variant(config: SicotConfig, name: str, produced: list[str]) -> str:
    """The results' name of the variant ``name`` (``results_name``), refused unless it is
    among ``produced``."""
    canonical = results_name(config, name)
    if canonical not in produced:
        raise ConfigError(f"--reference: '{name}' ({canonical}) is not among the compared models: {', '.join(produced)}")
    return canonical


# A run that took less than this found its model in the cache: its time says nothing of
# how long a training takes.
CACHED_RUN_SECONDS = 30.0


def time_left(durations: list[float], runs_left: int) -> str:
    """'' or how long the runs left take at the mean of the runs done so far that
    trained (a cached run, under CACHED_RUN_SECONDS, is left out: the runs left may be
    cached too, so it is an upper estimate)."""
    trained = [d for d in durations if d >= CACHED_RUN_SECONDS]
    if not runs_left or not trained:
        return ""
    seconds = runs_left * sum(trained) / len(trained)
    hours, minutes = divmod(round(seconds / 60), 60)
    span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return (f"; {runs_left} left, at most about {span} at the mean of the {len(trained)} "
            f"that trained so far")


def run_comparison(config: SicotConfig, say=print, archive_to: str | Path | None = None, rescore=()) -> Path:
    """Runs every planned variant but those a results archive of compare.archives holds
    (evaluation/results_archive.py); returns the comparison folder (holds metadata.sqlite).
    ``archive_to``: a results archive the comparison's models are added to after each run,
    each with its re-scorings by the methods of ``rescore`` (evaluation/rescoring.py).
    compare.sealed_splits: each trained model is first scored on those splits (archived
    too, never reported here), then on compare.split. A planned run the archives hold is
    not trained, whatever its sealed splits: a model whose machine was lost between the
    two scorings is trained again for the other split by the next plan that needs it,
    with the same settings and seed (not bit for bit the same weights)."""
    runs = planned_runs(config)
    keys = [planned_key(run) for run in runs]
    planned = {(variant, seed) for variant, seed, *_ in keys}
    co_training = _comparison_of(keys).co_training
    archived = archived_runs(read_archives(config.compare.archives))
    to_train = sum(key not in archived for key in keys)
    durations: list[float] = []
    with fingerprints_held():  # one stat of every image for all the runs, not one per run
        for i, (run, key) in enumerate(zip(runs, keys), 1):
            name = f"{variant_of(run)}, seed {run.train.seed}"
            if key in archived:
                say(f"==> compare [{i}/{len(runs)}]  {name}: in {archived[key].archived_from}, not trained")
                continue
            started = time.time()
            say(f"==> compare [{i}/{len(runs)}]  {name}")
            # The sealed splits first, so that the newest evaluation of the run folder (what
            # `sicot report RUN_DIR` shows when no plan says otherwise) is this comparison's.
            for sealed in sealed_runs(run, config.compare.sealed_splits):
                if planned_key(sealed) in archived:
                    continue
                local_runner.run(sealed, push=False)
                say(f"    [{name}] scored on the {sealed.eval.split} split too, sealed: not shown here")
                _archive(sealed, archive_to, rescore, say, name, planned, co_training, sealed=True)
            local_runner.run(run, push=False)
            durations.append(time.time() - started)
            say(f"    [{name}] done in {durations[-1]:.0f} s" + time_left(durations, to_train - len(durations)))
            _archive(run, archive_to, rescore, say, name, planned, co_training)
    return runs[0].output_path


def _archive(run: SicotConfig, archive_to: str | Path | None, rescore, say, name: str, planned: set,
             co_training: str | None, sealed: bool = False) -> None:
    """Adds the plan's models (``planned``: its (variant, seed) pairs; ``co_training``: its
    semantic stream settings, ``Comparison.co_training``) of the comparison of ``run``
    (its shared settings, its scored split) to the results archive ``archive_to``, if
    one is given. ``sealed``: the re-scorings say nothing (each would print its top-1
    on the sealed split)."""
    if archive_to is None:
        return
    # The run's shared settings and split (a sealed one's), the plan's semantic stream settings.
    wanted = Comparison(*planned_key(run)[2:4], co_training)
    _, path, added, _ = archive_comparison(run.output_path, archive_to, wanted=wanted, rescore=rescore,
                                           say=None if sealed else say, only=planned)
    say(f"    [{name}] archived in {path} ({run.eval.split} split)" + ("" if added else " (already there)"))


def reading_archive_to(config: SicotConfig, archive_to: str | Path | None) -> SicotConfig:
    """``config`` with ``archive_to`` (``sicot compare --archive``) among the results
    archives it reads, when that file exists and compare.archives does not list it
    already: a comparison started again after its machine was lost trains only what
    the archive it writes lacks, and reports every model of it. ``config`` is left as
    it was."""
    if archive_to is None or not Path(archive_to).is_file():
        return config
    listed = {Path(path).resolve() for path in config.compare.archives}
    if Path(archive_to).resolve() in listed:
        return config
    reading = copy.deepcopy(config)
    reading.compare.archives = [*config.compare.archives, str(archive_to)]
    return reading


def planned_comparison(config: SicotConfig) -> Comparison:
    """The comparison ``config`` plans (shared settings hash, split, semantic stream
    settings of its co-trained models): the models a report of it shows when results
    archives are read."""
    return _comparison_of([planned_key(run) for run in planned_runs(config)])


def _comparison_of(keys: list[tuple[str, int, str, str, str]]) -> Comparison:
    """The ``Comparison`` of a plan's ``planned_key``s: their shared settings and split
    (one for all), and the semantic stream settings of the co-trained ones (one for
    all: a variant sets only the title encoder, which no co-training setting string
    holds; None when the plan co-trains nothing)."""
    _, _, config_hash, split, _ = keys[0]
    co_training = next((stream for *_, stream in keys if stream), None)
    return Comparison(config_hash, split, co_training)
