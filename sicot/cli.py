"""The `sicot` command.

    sicot run     [--config FILE] [--set section.key=value ...] [--runner local|beam|kubeflow]
                                                                   ingest + pipeline
    sicot ingest  [--config FILE] [--set ...] [--force]            manifest -> TFRecords
    sicot config  [--config FILE] [--set ...]                      print the settings
"""

from __future__ import annotations

import argparse
import sys
import time

from sicot.console import quiet_libraries, say, stage


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
    from components.ingest import IngestOptions, ingest

    stage("ingest", f"{config.data.manifest} -> {config.ingest_dir}")
    result = ingest(IngestOptions.from_config(config.data), config.ingest_dir, force=force)
    if result.skipped:
        say("    inputs unchanged since the last ingest: reusing its TFRecords")
    for reject in result.rejects[:5]:
        say(f"    rejected {reject.source}:{reject.line}: {reject.reason}")
    if len(result.rejects) > 5:
        say(f"    ... and {len(result.rejects) - 5} more rejected rows (see the report)")
    say("    " + result.summary())
    return result


def cmd_ingest(args) -> int:
    _ingest(_load(args), force=args.force)
    return 0


def cmd_config(args) -> int:
    print(_load(args).to_yaml(), end="")
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
    if runner == "kubeflow":
        from tfx_pipeline import kubeflow_runner

        stage("pipeline", f"KubeflowV2DagRunner, image {config.pipeline.kubeflow_image}")
        say(f"    pipeline JSON: {kubeflow_runner.run(config)} (compiled; run it on Kubeflow Pipelines or Vertex)")
        return 0
    _ingest(config, force=args.force_ingest)
    stage("pipeline", f"{RUNNERS[runner]}, root {config.pipeline_root}")
    from tfx_pipeline import beam_runner, local_runner
    from tfx_pipeline.run_summary import summarize, write_summary

    (beam_runner if runner == "beam" else local_runner).run(config)
    summary = summarize(config)
    path = write_summary(config, summary)
    stage("summary", f"{time.time() - started:.0f} s in all")
    for line in summary.lines():
        say("    " + line)
    say(f"    run summary:    {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sicot",
        description="Long-tailed product image recognition co-trained with titles (SICoT) on TFX.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="ingest the manifest and run the whole pipeline (or compile it for Kubeflow)")
    _common(p)
    p.add_argument("--force-ingest", action="store_true", help="re-ingest even if inputs are unchanged")
    p.add_argument(
        "--runner",
        choices=list(RUNNERS),
        help="orchestrator (default: pipeline.runner): local, beam, or kubeflow (compile the pipeline JSON only)",
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("ingest", help="turn an image manifest into TFRecords with train/eval splits")
    _common(p)
    p.add_argument("--force", action="store_true", help="re-ingest even if inputs are unchanged")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("config", help="print the effective settings as YAML")
    _common(p)
    p.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    args = build_parser().parse_args(argv)
    from components.ingest import IngestError
    from components.manifest import ManifestError
    from sicot.config import ConfigError

    try:
        return args.func(args)
    except (ConfigError, IngestError, ManifestError) as e:
        print(f"sicot: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
