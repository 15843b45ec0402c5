"""A results archive: a comparison's evaluated models as one small JSON file.

A compared model lives in its run folder (ML Metadata, the SavedModel, TFMA's output:
hundreds of megabytes for one SKU model). A long comparison can outlive the machine it
started on: issue 11's confirmatory run is 24 SKU models, about 9 hours on a 2-core
machine, and a wiped machine loses every finished one with its folder. The archive
keeps what the tables and the acceptance rule read of each model (its variant, seed,
configuration and shared-settings hash, the scored split, TFMA's metrics and 95%
intervals per slice, the per-class hit table, the label vocabulary with its training
counts, the blessing), about 17 KB a model, small enough to commit beside the plan.

``sicot archive RUN_DIR --out FILE`` writes the newest comparison of a run folder into
FILE (merged with what FILE already holds: a (variant, seed, shared settings, split)
archived again replaces the older entry). ``compare.archives`` lists archives whose
models count as trained: ``sicot compare`` does not train a planned (variant, seed)
an archive holds with the same shared settings and split, and ``sicot report`` puts
the archived models beside the run folder's (a model of the folder wins over its
archived copy). What needs the model itself (the re-scorings, the title attention)
skips an archived one and says so (``ModelResult.archived``; its ``model_dir`` is empty),
so a plan that names re-scorings (``compare.rescore``, or ``--rescore``) archives them
too: ``sicot archive RUN_DIR --out FILE --rescore ncm`` and ``sicot compare --archive``
write each model's ``<variant>+<method>`` beside it, and a report finds them there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.rescoring import with_rescoring
from evaluation.run_results import (
    ModelResult,
    RunResultsError,
    co_training_settings,
    collect_model_results,
    latest_comparison,
    metadata_path_of,
    shared_config_hash,
    variant_of,
)
from models import custom_config
from sicot.config import ConfigError, SicotConfig

SCHEMA = "sicot.results_archive/1"


def archive_key(model: ModelResult) -> tuple[str, int, str, str, str]:
    """What makes two archived models the same one: (variant, seed, shared settings,
    split, semantic stream settings)."""
    return model.variant, model.seed, model.config_hash, model.split, _stream_settings(model.config)


def _stream_settings(config: SicotConfig) -> str:
    """The semantic stream's own settings of a co-trained model (those its variant name
    does not carry: lambda, the alignment, the title word prediction, the word
    vectors...), "" for a visual-only one, which has no semantic stream. They are not in
    the shared-settings hash (a baseline is compared with co-trained models of any of
    them), so without them a plan that changes only lambda would find the archived
    model of another lambda and train nothing."""
    return co_training_settings(config) if config.model.co_training else ""


def _entry(model: ModelResult) -> dict:
    return {
        "variant": model.variant, "seed": model.seed, "config_hash": model.config_hash,
        "split": model.split, "blessed": model.blessed, "config": model.config.to_dict(),
        "slices": model.slices,
        "intervals": {s: {k: list(v) for k, v in by_metric.items()} for s, by_metric in model.intervals.items()},
        "class_hits": np.asarray(model.class_hits, dtype=np.int64).reshape(-1, 4).tolist(),
        "labels": list(model.labels), "train_counts": dict(model.train_counts),
        "trained_in": model.model_dir,  # where the model was when it was archived
        **({"rescored_by": model.rescored_by} if model.rescored_by else {}),
    }


def _model(entry: dict, where: str) -> ModelResult:
    try:
        config = SicotConfig.from_recorded(entry["config"])
        model = ModelResult(
            variant=entry["variant"], seed=int(entry["seed"]), config_hash=shared_config_hash(config), config=config,
            execution_id=-1, split=entry["split"], model_dir="", evaluation_dir="", transform_dir="",
            eval_examples_dir="", blessed=entry["blessed"],
            slices={s: {k: float(v) for k, v in row.items()} for s, row in entry["slices"].items()},
            intervals={s: {k: (float(v[0]), float(v[1])) for k, v in row.items()}
                       for s, row in entry["intervals"].items()},
            class_hits=np.asarray(entry["class_hits"], dtype=np.int64).reshape(-1, 4),
            labels=list(entry["labels"]), train_counts={k: int(v) for k, v in entry["train_counts"].items()},
            archived_from=where, rescored_by=entry.get("rescored_by", ""),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise RunResultsError(f"{where}: not a results archive entry ({type(e).__name__}: {e})") from None
    # The names are the configuration's: an entry renamed by hand would be compared as
    # something else. The shared-settings hash is computed again from the settings, not
    # taken from the entry: a setting added to sicot after the entry was written is
    # missing from it and takes its default (what the writing version did; for one whose
    # default changed since, SETTINGS_ADDED_LATER's value), which changes every hash; the
    # entry's own "config_hash" is what the writing version computed.
    if (model.variant, model.seed) != (variant_of(config), config.train.seed):
        raise RunResultsError(f"{where}: variant {model.variant!r}, seed {model.seed} do not match its configuration "
                              f"({variant_of(config)!r}, seed {config.train.seed})")
    return model


def read_archive(path: str | Path) -> list[ModelResult]:
    """The models of the archive at ``path``, in the order they were archived."""
    return [model for model, _ in _read_entries(Path(path))]


def _read_entries(path: Path) -> list[tuple[ModelResult, dict]]:
    """Each model of the archive at ``path`` with its entry as written."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunResultsError(f"results archive not found: {path}") from None
    except json.JSONDecodeError as e:
        raise RunResultsError(f"results archive {path} is not valid JSON: {e}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise RunResultsError(f"{path}: not a results archive (schema {found!r}, expected {SCHEMA!r})")
    return [(_model(entry, f"{path} (model {i + 1}, {entry.get('variant')}, seed {entry.get('seed')})"), entry)
            for i, entry in enumerate(document.get("models", []))]


def read_archives(paths) -> list[ModelResult]:
    """The models of every archive of ``paths``, in order."""
    return [model for path in paths for model in read_archive(path)]


def write_archive(models: list[ModelResult], path: str | Path) -> tuple[Path, int, int]:
    """Adds ``models`` to the archive at ``path`` (made if missing; models read back from
    an archive are left out: they are archived already); returns (path, models added,
    models replaced). The file is replaced whole, so an interrupted write leaves the
    old archive as it was."""
    path = Path(path)
    return _write_archive(models, path, _read_entries(path) if path.exists() else [])


def _write_archive(models: list[ModelResult], path: Path, kept: list[tuple[ModelResult, dict]]) -> tuple[Path, int, int]:
    """``write_archive`` over the archive's entries ``kept``, already read."""
    new = [m for m in models if not m.archived]
    replaced = {archive_key(m) for m in new} & {archive_key(m) for m, _ in kept}
    entries = [entry for m, entry in kept if archive_key(m) not in replaced] + [_entry(m) for m in new]
    entries.sort(key=lambda e: (e["split"], e["seed"], e["variant"] != "baseline", e["variant"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    # One line a model: a diff of the committed file shows which models came or changed.
    lines = ",\n".join(json.dumps(entry, sort_keys=True, separators=(",", ":")) for entry in entries)
    temporary.write_text(f'{{"schema": "{SCHEMA}", "models": [\n{lines}\n]}}\n')
    temporary.replace(path)
    return path, len(new) - len(replaced), len(replaced)


def archive_comparison(run_dir: str | Path, path: str | Path, wanted: tuple | None = None,
                       rescore=(), say=None, only=None) -> tuple[list[ModelResult], Path, int, int]:
    """Adds the models of ``run_dir``'s comparison (``wanted``: a run_results
    ``Comparison``; the newest evaluation's if None) to the archive at ``path``; returns the
    models, then what ``write_archive`` returns. ``rescore``: re-scorings
    (evaluation/rescoring.py) archived beside the models, each computed only where the
    archive does not hold it yet for that model (``sicot compare --archive`` archives
    after every model: only the new one is re-scored). ``only``: the (variant, seed)
    pairs to archive, a plan's (``sicot compare --archive``): a comparison folder may
    hold models an earlier plan trained there with the same settings at other seeds,
    which are not this plan's to archive; None archives the whole comparison."""
    models = latest_comparison(collect_model_results(metadata_path_of(run_dir)), wanted=wanted)
    if only is not None:
        models = [m for m in models if (m.variant, m.seed) in only]
        if not models:
            raise RunResultsError(f"none of the planned models is in {run_dir}'s comparison")
    path = Path(path)
    kept = _read_entries(path) if path.exists() else []  # read once: for the re-scorings held and the write
    if rescore:
        comparison = (models[0].config_hash, models[0].split)
        scored = {(m.variant, m.seed) for m, _ in kept if (m.config_hash, m.split) == comparison}
        models = with_rescoring(models, rescore, say, scored=scored)
    return (models, *_write_archive(models, path, kept))


def archived_runs(models: list[ModelResult]) -> dict[tuple[str, int, str, str, str], ModelResult]:
    """The archived models by ``archive_key``, to find a planned run among them."""
    return {archive_key(m): m for m in models}


def planned_key(run: SicotConfig) -> tuple[str, int, str, str, str]:
    """``archive_key`` of the model a planned comparison run would produce: its settings
    as the Trainer records them (models/custom_config.py: what no training reads, such
    as the scored split, is left out and read back as the default), hashed the way
    run_results reads them back."""
    trained = custom_config.decode(custom_config.encode(run))
    return variant_of(trained), trained.train.seed, shared_config_hash(trained), run.eval.split, _stream_settings(trained)
