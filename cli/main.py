"""The `sicot` command.

    sicot run     [--config FILE] [--set section.key=value ...] [--runner local|beam|kubeflow]
                                                                   ingest + pipeline + report
    sicot compare [--config FILE] [--set ...] [--rescore METHOD] [--reference VARIANT]
                                                                   baseline vs co-training tables
    sicot report  RUN_DIR [--rescore METHOD] [--reference VARIANT] [--config FILE] [--set compare.acceptance...]
                                                                   results.json + report.html again
    sicot archive RUN_DIR --out FILE [--rescore METHOD]            its compared models' results -> a small JSON file
    sicot pair    A/results.json B/results.json [--variant-a V] [--variant-b V]
                                                                   one variant against another, paired by seed
    sicot ingest  [--config FILE] [--set ...] [--force]            manifest -> TFRecords
    sicot config  [--config FILE] [--set ...]                      print the settings
    sicot index build [--catalogue FILE] [--url URL] [--set ...]   catalogue -> product index
    sicot index show SKU [--set ...]                               one product of the index
    sicot serve   [--config FILE] [--set service.key=value ...]    the recognition service
    sicot serving status|promote|rollback [--set ...]              TF Serving version labels
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from evaluation.rescoring_names import RESCORING_NAMES
from sicot.console import detail, quiet_libraries, say, stage


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file of settings (applied over the defaults)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set train.epochs=3 (repeatable)",
    )


def _load(args):
    from sicot.config import load_config

    return load_config(args.config, args.overrides)


def _ingest(config, force: bool = False):
    from components.ingest import ingest

    stage("ingest", f"{config.data.manifest} -> {config.ingest_dir}")
    result = ingest(config.data, config.ingest_dir, force=force)
    if result.skipped:
        detail("inputs unchanged since the last ingest: reusing its TFRecords")
    for reject in result.rejects[:5]:
        detail(f"rejected {reject.source}:{reject.line}: {reject.reason}")
    if len(result.rejects) > 5:
        detail(f"... and {len(result.rejects) - 5} more rejected rows (see the report)")
    detail(result.summary())
    return result


def _input_of(config) -> str:
    examples = config.data.examples
    if examples.train:
        given = ", ".join(f"{s} {getattr(examples, s)}" for s in ("train", "validation", "eval") if getattr(examples, s))
        return f"TFRecords (data.examples): {given}"
    given = [config.data.manifest, config.data.validation_manifest, config.data.eval_manifest]
    return "manifests: " + ", ".join(m for m in given if m)


def cmd_ingest(args) -> int:
    _ingest(_load(args), force=args.force)
    return 0


def cmd_config(args) -> int:
    print(_load(args).to_yaml(), end="")
    return 0


def _rescore(args, config=None) -> tuple[str, ...]:
    """The re-scorings of ``--rescore`` / ``--posthoc`` and of ``config``'s compare.rescore."""
    from evaluation.rescoring import rescoring_methods
    from sicot.config import ConfigError

    planned = list(config.compare.rescore) if config is not None else []
    try:
        rescoring_methods(planned)
    except ValueError as e:
        raise ConfigError(f"compare.rescore: {e}") from None
    return rescoring_methods([*planned, *(args.rescore or []), *(["posthoc"] if getattr(args, "posthoc", False) else [])])


def _report(run_dir, rescore=(), reference: str | None = None, config=None):
    """``config``: its compare.acceptance rule, if any, is judged at its planned seeds."""
    from evaluation.report import make_report
    from evaluation.compare import planned_comparison, planned_runs, produced_variants
    from evaluation.rescoring import DESCRIPTIONS, TITLE_METHODS, TUNED_ON_VALIDATION

    stage("report", str(run_dir))
    for method in rescore:
        which = "co-trained model" if method in TITLE_METHODS else "model"
        how = ", tau chosen on the validation split" if method in TUNED_ON_VALIDATION else ", nothing tuned"
        detail(f"re-scoring every {which} without a re-balancing: {DESCRIPTIONS[method]}{how}")
    archives = config.compare.archives if config is not None else []
    for path in archives:
        detail(f"results archive: {path}")
    # With sealed splits the run folder holds other splits' evaluations: the plan's is shown.
    by_plan = archives or (config is not None and config.compare.sealed_splits)
    report = make_report(run_dir, rescore=rescore, say=detail, reference=reference,
                         acceptance=config.compare.acceptance if config is not None else None,
                         planned_seeds=_planned_seeds(config) if config is not None else None,
                         archives=archives, planned=planned_comparison(config) if by_plan else None,
                         shown=produced_variants(planned_runs(config), rescore) if archives else None,
                         seeds=list(config.compare.seeds) if archives else None)
    for table in report.tables:
        say("")
        say(table.to_text())
    say("")
    detail(f"results (JSON): {report.results_path}")
    detail(f"report (HTML):  {report.html_path}")
    return report


def _planned_seeds(config) -> list[int]:
    return list(config.compare.acceptance.seeds or config.compare.seeds)


def _check_acceptance(config) -> None:
    """Refuses a bad compare.acceptance rule before any work (its variants' names, metric,
    slices)."""
    rule = config.compare.acceptance
    if not rule.variant:
        return
    from evaluation.acceptance_rule import check_rule
    from evaluation.compare import results_name
    from evaluation.results_document import slice_order

    for name in (rule.variant, rule.reference):
        results_name(config, name)
    check_rule(rule, slice_order(config.eval.frequency_buckets))


def cmd_report(args) -> int:
    config = _load(args)
    _check_acceptance(config)
    _report(args.run_dir, rescore=_rescore(args, config), reference=args.reference, config=config)
    return 0


def cmd_pair(args) -> int:
    from evaluation.paired_results import pair, pairing_tables

    stage("pair", f"{args.a} (A) vs {args.b} (B)")
    for table in pairing_tables(pair(args.a, args.b, args.variant_a, args.variant_b)):
        say("")
        say(table.to_text())
    return 0


def cmd_archive(args) -> int:
    from evaluation.results_archive import archive_comparison

    stage("archive", f"{args.run_dir} -> {args.out}")
    models, path, added, replaced = archive_comparison(args.run_dir, args.out, rescore=_rescore(args), say=detail)
    for m in models:
        detail(f"{m.variant}, seed {m.seed} ({m.split} split): {m.model_dir}")
    detail(f"{added} model(s) added, {replaced} replaced: {path} ({path.stat().st_size / 1024:.0f} KB); "
           "compare.archives lists it to count them as trained")
    return 0


def cmd_tensorboard(args) -> int:
    import subprocess

    from evaluation import fairness_indicators_view as view

    stage("tensorboard", f"Fairness Indicators view of {args.run_dir}")
    logdir, runs = view.write_logdir(args.run_dir, args.logdir)
    for run in runs:
        detail(f"{run.name}: {run.evaluation_dir}")
    command = view.tensorboard_command(logdir, args.host, args.port)
    detail(f"logdir:  {logdir}")
    detail("command: tensorboard " + " ".join(command[3:]))
    if args.no_launch:
        return 0
    detail(f"open {view.plugin_url(args.host, args.port)} (Ctrl-C stops TensorBoard)")
    try:
        return subprocess.call(command, env=view.environment())
    except KeyboardInterrupt:
        return 0


def _report_flags(parser) -> None:
    parser.add_argument(
        "--rescore", action="append", metavar="METHOD",
        choices=RESCORING_NAMES,
        help="also score every model trained without a re-balancing with it, without retraining: posthoc "
             "(logit adjustment) or tau_norm (classifier weights / norm ** tau), tau chosen on the validation "
             "split, or ncm (nearest class mean of the training features, cosine) or crt (the classifier trained "
             "again on the training features, classes sampled equally often), or, for co-trained models, "
             "title_ncm (of the training titles' embeddings), ncm_title (both) or crt_mixed (crt on the visual "
             "and the mixed features together); the variants "
             "<name>+METHOD. Repeat for several")
    parser.add_argument("--posthoc", action="store_true", help="short for --rescore posthoc")
    parser.add_argument(
        "--reference", metavar="VARIANT",
        help="also compare every model with this one, paired by seed (e.g. baseline+logit_adjusted, the best "
             "visual-only long-tail method, against each co-training combination): one more table")


def cmd_compare(args) -> int:
    started = time.time()
    config = _load(args)
    from evaluation.compare import (planned_runs, produced_variants, reading_archive_to, reference_variant,
                                    run_comparison)

    config = reading_archive_to(config, args.archive)  # started again: the models it archived are not trained again
    runs = planned_runs(config)  # unknown variants and an unknown --reference are refused before any work
    _check_acceptance(config)
    rescore = _rescore(args, config)
    reference = reference_variant(config, args.reference, produced_variants(runs, rescore)) if args.reference else None
    detail(f"input: {_input_of(config)}")
    compare_dir = run_comparison(config, say=say, archive_to=args.archive, rescore=rescore)
    _report(compare_dir, rescore=rescore, reference=reference, config=config)
    stage("summary", f"{time.time() - started:.0f} s in all; comparison folder {compare_dir}")
    return 0


def _build_index(config):
    from serving.product_index import build_index

    catalogue = config.index.catalogue or config.data.manifest
    stage("index", f"{catalogue} -> {config.index_url}")
    index, read = build_index(catalogue, config.index_url, config.index.table)
    for reject in read.rejects[:5]:
        detail(f"skipped {reject.source}:{reject.line}: {reject.reason}")
    detail(f"index: {len(read.products)} SKUs from {read.rows} catalogue rows"
           f" ({len(read.rejects)} rows skipped) in {index.location}")
    return index


def _labels_text(labels: dict[str, int]) -> str:
    return ", ".join(f"{label} = version {version}" for label, version in sorted(labels.items(), reverse=True))


def _write_models_config(config) -> None:
    from serving.tf_serving_config import MODELS_CONFIG_NAME, roll_out

    labels = roll_out(config.serving_dir.parent, config.pipeline.name)
    path = config.serving_dir.parent / MODELS_CONFIG_NAME
    detail(f"TF Serving config: {path} (model {config.pipeline.name}, base path /models/{config.pipeline.name}; "
           f"{_labels_text(labels)})")


def cmd_serving(args) -> int:
    from serving import tf_serving_config

    config = _load(args)
    root, name = config.serving_dir.parent, config.pipeline.name
    if args.serving_command == "status":
        labels = tf_serving_config.labels_of(root, name)
        say(f"{name}: pushed versions {tf_serving_config.pushed_versions(root, name) or 'none'}; "
            f"{_labels_text(labels) or 'no models.config yet'}")
        return 0
    action = tf_serving_config.promote if args.serving_command == "promote" else tf_serving_config.roll_back
    try:
        labels = action(root, name)
    except ValueError as e:
        print(f"sicot: error: {e}", file=sys.stderr)
        return 2
    say(f"{root / tf_serving_config.MODELS_CONFIG_NAME}: {_labels_text(labels)}")
    return 0


def cmd_index(args) -> int:
    config = _load(args)
    if args.url:
        config.index.url = args.url
    if args.index_command == "build":
        if args.catalogue:
            config.index.catalogue = args.catalogue
        _build_index(config)
        return 0
    from serving.product_index import ProductIndex

    product = ProductIndex.open(config.index_url, config.index.table).get(args.sku)
    if product is None:
        print(f"sicot: error: unknown SKU '{args.sku}': not in the product index {config.index_url}", file=sys.stderr)
        return 1
    print(json.dumps(product.to_dict(), indent=2, ensure_ascii=False))
    return 0


def cmd_serve(args) -> int:
    config = _load(args)
    import uvicorn

    from serving.app import app_from_config

    app = app_from_config(config)
    host, port = config.service.host, config.service.port
    stage("serve", f"http://{host}:{port}/  (page at /, API docs at /docs)")
    detail(f"model: {app.state.backend.description}")
    detail(f"index: {app.state.index.location}")
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


RUNNERS = {"local": "LocalDagRunner", "beam": "BeamDagRunner", "kubeflow": "KubeflowV2DagRunner"}


def cmd_run(args) -> int:
    started = time.time()
    config = _load(args)
    if args.runner:
        config.pipeline.runner = args.runner
    runner = config.pipeline.runner
    if runner not in RUNNERS:
        from sicot.config import ConfigError

        raise ConfigError(f"unknown pipeline.runner '{runner}' (known: {', '.join(RUNNERS)})")
    from tfx_pipeline.trainer_cluster import describe as describe_trainer_cluster

    trainer_cluster = describe_trainer_cluster(config)
    if runner == "kubeflow":
        from tfx_pipeline import kubeflow_runner

        stage("pipeline", f"KubeflowV2DagRunner, image {config.pipeline.kubeflow_image}")
        if trainer_cluster:
            detail(trainer_cluster)
        detail(f"pipeline JSON: {kubeflow_runner.run(config)} (compiled; run it on Kubeflow Pipelines or Vertex)")
        return 0
    if config.output_is_url:
        from sicot.config import ConfigError

        raise ConfigError(
            f"pipeline.output_dir {config.pipeline.output_dir} is a bucket: the {runner} runner keeps ML Metadata, "
            "the ingest and the run summary on this machine's disk; give a local folder, or compile the pipeline "
            "for a cluster with --runner kubeflow")
    stage("pipeline", f"{RUNNERS[runner]}, root {config.pipeline_root}")
    detail(f"input: {_input_of(config)}")
    if trainer_cluster:
        detail(trainer_cluster)
    from tfx_pipeline import beam_runner, local_runner
    from evaluation.run_summary import summarize, write_summary

    (beam_runner if runner == "beam" else local_runner).run(config)
    summary = summarize(config)
    path = write_summary(config, summary)
    if summary.pushed_dir:
        _write_models_config(config)
    _build_index(config)
    report = _report(config.output_path)
    stage("summary", f"{time.time() - started:.0f} s in all")
    for line in summary.lines():
        detail(line)
    detail(f"results (JSON): {report.results_path}")
    detail(f"report (HTML):  {report.html_path}")
    detail(f"run summary:    {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sicot",
        description="Long-tailed product image recognition co-trained with titles (SICoT) on TFX.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the whole pipeline, from the manifests (or data.examples) to the pushed model (or compile it for Kubeflow)")
    _common(p)
    p.add_argument(
        "--runner",
        choices=list(RUNNERS),
        help="orchestrator (default: pipeline.runner): local, beam, or kubeflow (compile the pipeline JSON only)",
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser(
        "compare",
        help="train baseline and co-training (compare.variants x compare.seeds) on the same data; print the tables",
    )
    _common(p)
    _report_flags(p)
    p.add_argument("--archive", metavar="FILE",
                   help="after each model trains, add the comparison's models to this results archive (`sicot "
                        "archive`), with their re-scorings (compare.rescore, --rescore), so that a machine lost "
                        "mid-way loses at most the model in training. Started again with the same FILE, the "
                        "comparison trains only the models FILE lacks (FILE is read as one of compare.archives). With "
                        "compare.sealed_splits (e.g. [test]) each model is also archived scored on those splits, "
                        "unshown, for a later plan on them")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("report", help="write results.json and report.html of a finished run (no retraining)")
    p.add_argument("run_dir", help="a `sicot run` output folder or a `sicot compare` folder")
    _report_flags(p)
    _common(p)
    p.description = ("--config / --set: only compare.acceptance (a rule to judge the comparison by), "
                     "compare.seeds (its planned seeds, unless compare.acceptance.seeds), compare.rescore (re-scorings "
                     "of the plan, as --rescore) and compare.archives "
                     "(results archives whose models join the run folder's; the comparison shown is then the "
                     "one the configuration plans, as with compare.sealed_splits) are read")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser(
        "pair", help="one variant of one results.json against one of another, paired by seed (two plans "
                     "that differ in a setting no variant name carries)")
    p.add_argument("a", help="results.json of A (`sicot report` writes one)")
    p.add_argument("b", help="results.json of B, scored on the same split and photos")
    p.add_argument("--variant-a", help="A's variant (default: its only one besides the baseline)")
    p.add_argument("--variant-b", help="B's variant (default: its only one besides the baseline)")
    p.set_defaults(func=cmd_pair)
    p = sub.add_parser(
        "archive", help="write the compared models' results (metrics, intervals, per-class hits, settings; no "
                        "model) into a small JSON file that compare.archives reads back")
    p.add_argument("run_dir", help="a `sicot run` output folder or a `sicot compare` folder")
    p.add_argument("--out", required=True, help="the archive (added to when it exists)")
    p.add_argument("--rescore", action="append", metavar="METHOD", choices=RESCORING_NAMES,
                   help="also archive each model re-scored with METHOD (as `sicot report --rescore`), unless the "
                        "archive holds that re-scoring already. Repeat for several")
    p.set_defaults(func=cmd_archive)
    p = sub.add_parser(
        "tensorboard", help="open a run's TFMA evaluations in TensorBoard's Fairness Indicators plugin"
    )
    p.add_argument("run_dir", help="a `sicot run` output folder or a `sicot compare` folder")
    p.add_argument("--logdir", help="where to write the TensorBoard runs (default: <run>/tensorboard)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6006)
    p.add_argument("--no-launch", action="store_true", help="write the logdir and print the command only")
    p.set_defaults(func=cmd_tensorboard)
    p = sub.add_parser("ingest", help="turn an image manifest into TFRecords with train/eval splits")
    _common(p)
    p.add_argument("--force", action="store_true", help="re-ingest even if inputs are unchanged")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("config", help="print the effective settings as YAML")
    _common(p)
    p.set_defaults(func=cmd_config)
    p = sub.add_parser("index", help="the product index (SKU -> title, tags, images) the service reads")
    index_sub = p.add_subparsers(dest="index_command", required=True)
    q = index_sub.add_parser("build", help="load a catalogue (manifest) into the index, replacing it atomically")
    _common(q)
    q.add_argument("--catalogue", help="manifest/catalogue file (default: index.catalogue, else data.manifest)")
    q.add_argument("--url", help="SQLite file or postgresql:// URL (default: index.url)")
    q.set_defaults(func=cmd_index)
    q = index_sub.add_parser("show", help="print one SKU's entry")
    _common(q)
    q.add_argument("sku")
    q.add_argument("--url", help="SQLite file or postgresql:// URL (default: index.url)")
    q.set_defaults(func=cmd_index)
    p = sub.add_parser("serving", help="TF Serving rollout: status, promote the canary, roll it back")
    serving_sub = p.add_subparsers(dest="serving_command", required=True)
    for name, text in (("status", "pushed versions and their labels"),
                       ("promote", "the canary version becomes stable (models.config)"),
                       ("rollback", "drop the canary version; stable serves alone (models.config)")):
        q = serving_sub.add_parser(name, help=text)
        _common(q)
        q.set_defaults(func=cmd_serving)
    p = sub.add_parser("serve", help="run the recognition service (HTTP API and page)")
    _common(p)
    p.set_defaults(func=cmd_serve)
    return parser


def _service_setup_errors() -> tuple[type[Exception], ...]:
    """Errors of the index and service set-up that are the user's to fix (missing files, bad URLs)."""
    from serving.index_database import IndexUnavailable

    return (IndexUnavailable, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    args = build_parser().parse_args(argv)
    from components.ingest import IngestError
    from components.manifest import ManifestError
    from evaluation.paired_results import PairingError
    from evaluation.run_results import RunResultsError
    from sicot.config import ConfigError

    service_errors = _service_setup_errors() if args.command in ("run", "index", "serve") else ()

    try:
        return args.func(args)
    except (ConfigError, IngestError, ManifestError, PairingError, RunResultsError, *service_errors) as e:
        print(f"sicot: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
