"""``sicot report RUN_DIR``: results.json and report.html from a finished run.

Reads the run's ML Metadata and TFMA output (a ``sicot run`` folder, a ``sicot
compare`` folder, or an output folder holding a ``compare/`` one), takes the models of
the newest configuration (evaluation/run_results.py), runs the co-trained model's
title attention over a few eval titles, and writes the machine-readable results and
the HTML report beside the metadata. Nothing is retrained or re-evaluated by TFMA;
with ``rescore``, every model trained without a re-balancing is also scored with the
post-hoc logit adjustment and/or tau-normalisation, tau chosen on the validation split
(evaluation/rescoring.py: ``<variant>+posthoc``, ``<variant>+tau_norm``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from evaluation.acceptance_rule import PENDING, judge
from evaluation.attention_view import attention_examples
from evaluation.html_report import write_report
from evaluation.rescoring import in_report_order, with_rescoring
from evaluation.results_document import build_results, withheld, write_results
from evaluation.results_archive import read_archives
from evaluation.run_results import (
    Comparison,
    ModelResult,
    RunResultsError,
    collect_model_results,
    latest_comparison,
    metadata_path_of,
)
from evaluation.run_summary import read_ingest_report, reject_line
from evaluation.tables import Table, comparison_tables
from sicot.config import AcceptanceConfig, SicotConfig


SHOWN_INPUT_REJECTS = 10


@dataclasses.dataclass
class Report:
    results_path: Path
    html_path: Path
    tables: list[Table]
    document: dict


def make_report(run_dir: str | Path, out_dir: str | Path | None = None, rescore=(),
                say=None, reference: str | None = None, acceptance: AcceptanceConfig | None = None,
                planned_seeds: list[int] | None = None, archives=(),
                planned: tuple | None = None, shown: list[str] | None = None,
                seeds: list[int] | None = None) -> Report:
    """``acceptance``: a comparison's acceptance rule, judged at ``planned_seeds``
    (evaluation/acceptance_rule.py; none when its variant is ""); while it is pending,
    no accuracy is written or shown, only which models are in (results_document.withheld;
    a rule left out, ``--set compare.acceptance.variant=``, shows them). ``archives``: results
    archives whose models join the run folder's (evaluation/results_archive.py; the run
    folder's model wins over an archived copy). The comparison shown is ``planned``
    (evaluation/run_results.py ``Comparison``: shared settings hash, split, semantic
    stream settings; the newest evaluation's if None). With
    archives the run folder may hold no ML Metadata yet. ``shown``: the results' names
    of what the plan produces (evaluation/compare.produced_variants: its variants and the
    re-scorings asked for); with archives, a model of any other variant is left out and
    counted: an archive may hold re-scorings another plan asked for (issue 11's
    confirmatory run archives its test re-scorings for target 2, to stay unread until
    validation has chosen target 2's methods), and a report of this plan must not print
    them. ``seeds``: the plan's seeds (compare.seeds); with archives, a model of another
    seed is left out and counted the same way (an archive may hold another plan's seeds
    of the same settings, which the plan's means and pairs must not take in)."""
    archived = read_archives(archives)
    try:
        metadata = metadata_path_of(run_dir)
    except RunResultsError:
        if not archived:
            raise
        metadata = None
    folder = metadata.parent if metadata is not None else Path(run_dir)
    found = collect_model_results(metadata) if metadata is not None else []
    models = latest_comparison(archived + found, wanted=planned)
    if planned is not None:
        _say_other_stream_settings(archived + found, Comparison(*planned), say)
    if archived and shown is not None:
        models = _planned_only(models, shown, lambda m: m.variant, "variants",
                               "--rescore METHOD or compare.rescore shows a re-scoring", say)
    if archived and seeds is not None:
        models = _planned_only(models, seeds, lambda m: m.seed, "seeds", "compare.seeds names the plan's", say)
    if reference is not None:  # its results' name ("sicot+posthoc" -> "sicot-<encoder>+posthoc"), checked first
        from evaluation.compare import produced_variants, reference_variant

        reference = reference_variant(models[0].config, reference, produced_variants([m.config for m in models], rescore))
    if rescore:
        models = with_rescoring(models, rescore, say)
    models = in_report_order(models)  # archived re-scorings where made ones would be
    attention = []
    co_trained = [m for m in models if m.co_trained and not m.archived]
    if co_trained:
        model = co_trained[0]
        for item in attention_examples(model.model_dir, model.eval_examples_dir, model.config.eval.attention_examples):
            attention.append({"variant": model.variant, "seed": model.seed, **item})
    out = Path(out_dir) if out_dir else folder
    document = build_results(models, str(folder), attention, reference=reference)
    if acceptance is not None and acceptance.variant:
        document["acceptance"] = judged_rule(document, models[0].config, acceptance, planned_seeds or [])
        if document["acceptance"]["status"] == PENDING:
            document = withheld(document)
    ingest = read_ingest_report(metadata) if metadata is not None else None
    if ingest is not None:
        path, report = ingest
        document["input"] = {"report": path, "counts": report["counts"],
                             "rejected_by_split": report.get("rejected_by_split", {}),
                             "first_rejects": [reject_line(r) for r in report["rejects"][:SHOWN_INPUT_REJECTS]]}
    return Report(
        results_path=write_results(document, out / "results.json"),
        html_path=write_report(document, out / "report.html"),
        tables=comparison_tables(document),
        document=document,
    )


def _say_other_stream_settings(results: list[ModelResult], planned: Comparison, say=None) -> None:
    """Counts, through ``say``, the co-trained models of the plan's shared settings and
    split left out for their semantic stream settings (another lambda, alignment, title
    word prediction...: their variant name is the plan's, so the tables could not show
    the difference)."""
    if planned.co_training is None or say is None:
        return
    other = [m for m in results if m.co_trained and (m.config_hash, m.split) == planned[:2] and not planned.takes(m)]
    if other:
        say(f"left out {len(other)} co-trained model(s) with other semantic stream settings than this "
            f"plan's ({', '.join(sorted({f'{m.variant} seed {m.seed}' for m in other}))}; the model.* "
            f"settings no variant name carries: lambda, the alignment, the title word prediction...)")


def _planned_only(models: list[ModelResult], planned: list, key, what: str, hint: str,
                  say=None) -> list[ModelResult]:
    """The models whose ``key`` (their variant, their seed) the plan names in ``planned``;
    the others are counted and named through ``say``, with ``hint``. None left is an error."""
    kept = [m for m in models if key(m) in planned]
    if not kept:
        raise RunResultsError(f"none of the planned {what} ({', '.join(map(str, planned))}) has a model here or "
                              f"in the results archives")
    if len(kept) < len(models) and say is not None:
        left_out = sorted({key(m) for m in models} - set(planned))
        say(f"left out {len(models) - len(kept)} model(s) of {what} this plan does not name "
            f"({', '.join(map(str, left_out))}; {hint})")
    return kept


def judged_rule(document: dict, config: SicotConfig, rule: AcceptanceConfig, planned_seeds: list[int]) -> dict:
    """The rule's verdict on ``document``, its variants by their results' names
    (``sicot`` -> ``sicot-<config's title encoder>``)."""
    from evaluation.compare import results_name

    variant, reference = (results_name(config, name) for name in (rule.variant, rule.reference))
    return judge(document, rule, variant, reference, planned_seeds).to_dict()
