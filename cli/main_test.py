import json

import pytest
import yaml

from cli.main import build_parser, main


def test_config_prints_the_effective_settings(capsys):
    assert main(["config", "--set", "train.epochs=4", "--set", "model.backbone=tiny_cnn"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["train"]["epochs"] == 4 and printed["model"]["backbone"] == "tiny_cnn"


def test_bad_setting_is_a_clear_error_not_a_traceback(capsys):
    assert main(["config", "--set", "train.epocs=4"]) == 2
    assert "sicot: error: unknown setting 'train.epocs'" in capsys.readouterr().err


def test_ingest_failure_exits_2_with_the_reason_and_keeps_the_report(tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "a.png", "label": "x"}\nnot json\n')
    out = tmp_path / "out"
    code = main(["ingest", "--set", f"data.manifest={manifest}", "--set", "data.eval_manifest=null",
                 "--set", "data.validation_manifest=null", "--set", f"pipeline.output_dir={out}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no valid training rows" in err and "ingest_report.json" in err
    report = json.loads((out / "ingest" / "ingest_report.json").read_text())
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (1, "image file not found"),
        (2, "not valid JSON (Expecting value)"),
    ]


def test_missing_manifest_is_reported(tmp_path, capsys):
    code = main(["ingest", "--set", f"data.manifest={tmp_path}/none.jsonl", "--set", f"pipeline.output_dir={tmp_path}"])
    assert code == 2
    assert "manifest not found" in capsys.readouterr().err


def test_compare_refuses_an_unknown_variant_before_any_work(tmp_path, capsys):
    code = main(["compare", "--set", "compare.variants=[baseline,sicot2]", "--set", f"pipeline.output_dir={tmp_path}"])
    assert code == 2
    assert "unknown variant 'sicot2'" in capsys.readouterr().err
    assert not (tmp_path / "ingest").exists()


def test_compare_refuses_an_unknown_planned_rescoring_before_any_work(tmp_path, capsys):
    code = main(["compare", "--set", "compare.rescore=[ncm,cosine]", "--set", f"pipeline.output_dir={tmp_path}"])
    assert code == 2
    assert "compare.rescore: unknown re-scoring cosine" in capsys.readouterr().err
    assert not (tmp_path / "ingest").exists()


def test_run_with_a_missing_manifest_fails_before_the_pipeline(tmp_path, capsys):
    code = main(["run", "--set", f"data.manifest={tmp_path}/none.jsonl", "--set", f"pipeline.output_dir={tmp_path}"])
    assert code == 2
    assert f"manifest not found: {tmp_path}/none.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "pipeline").exists()


def test_run_fails_clearly_when_the_ingest_step_rejects_everything(tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "a.png", "label": "x"}\n')
    code = main(["run", "--set", f"data.manifest={manifest}", "--set", "data.eval_manifest=null",
                 "--set", "data.validation_manifest=null", "--set", f"pipeline.output_dir={tmp_path / 'out'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no valid training rows in data.manifest" in err and "ingest_report.json" in err


def test_compare_refuses_an_acceptance_rule_it_could_not_judge_before_any_work(tmp_path, capsys):
    common = ["--set", f"pipeline.output_dir={tmp_path}", "--set", "compare.acceptance.variant=sicot"]
    assert main(["compare", *common, "--set", "compare.acceptance.min_mean_gain.tails=0.02"]) == 2
    assert "unknown slice(s) tails" in capsys.readouterr().err
    assert main(["compare", *common, "--set", "compare.acceptance.reference=sicot3",
                 "--set", "compare.acceptance.interval_above_zero=[tail]"]) == 2
    assert "unknown variant 'sicot3'" in capsys.readouterr().err
    assert main(["report", str(tmp_path), *common]) == 2
    assert "sets no condition" in capsys.readouterr().err
    assert not (tmp_path / "ingest").exists()


def test_the_command_line_starts_without_tensorflow():
    # `sicot --help` and argument errors answer at once: TensorFlow loads only for the work.
    import subprocess
    import sys

    code = "import sys, cli.main; cli.main.build_parser(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tfx')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_report_offers_every_rescoring_method_and_refuses_others():
    from evaluation.rescoring_names import RESCORING_NAMES

    args = build_parser().parse_args(["report", "runs/x", *[a for name in RESCORING_NAMES for a in ("--rescore", name)]])
    assert tuple(args.rescore) == RESCORING_NAMES
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "runs/x", "--rescore", "cosine"])


def test_compare_started_again_with_its_archive_reads_it_and_reports_its_models(tmp_path, monkeypatch):
    import cli.main as cli
    from evaluation import compare

    archive = tmp_path / "a.json"
    archive.write_text("{}")
    seen = {}

    def run_comparison(config, say=None, archive_to=None, rescore=()):
        seen["run"] = (list(config.compare.archives), archive_to)
        return tmp_path / "compare"

    monkeypatch.setattr(compare, "run_comparison", run_comparison)
    monkeypatch.setattr(cli, "_report", lambda d, rescore, reference, config: seen.update(report=config.compare.archives))
    assert main(["compare", "--set", f"pipeline.output_dir={tmp_path}", "--archive", str(archive)]) == 0
    # The models it archived before count as trained, and the report shows them.
    assert seen == {"run": ([str(archive)], str(archive)), "report": [str(archive)]}
