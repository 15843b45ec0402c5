"""Baseline vs SICoT co-training on the same data and settings, several seeds.

    python bench/cotraining_accuracy.py                       # bundled sample, 3 seeds
    python bench/cotraining_accuracy.py --seeds 1 2 --set train.epochs=4

Runs the pipeline once (ingest, Transform, ...) unless --run-dir points at a finished
run, then trains the baseline (model.co_training=false) and the co-training model
from that run's Transform output and ingested splits for each seed, scores the eval
split with each exported model (serving graph: the image alone) and prints top-1 and
top-3 overall, on head and on tail classes (per example and per-class averaged), mean
and standard deviation over seeds. Results go to bench/results/cotraining_accuracy.json.
Model selection uses no eval number: epochs and settings are fixed up front.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sicot.console import quiet_libraries  # noqa: E402

quiet_libraries()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sicot.config import load_config  # noqa: E402
from sicot.head_tail import slice_accuracies  # noqa: E402


def latest_uri(config, type_name: str) -> str:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(str(config.metadata_path)))
    artifacts = [a for a in store.get_artifacts_by_type(type_name) if a.state == 2]
    if not artifacts:
        raise SystemExit(f"no {type_name} artifact in {config.metadata_path}: run the pipeline first")
    return max(artifacts, key=lambda a: a.id).uri


def score(model_dir: str, eval_pattern: str, head_min: int) -> dict:
    model = tf.saved_model.load(model_dir)
    files = tf.io.gfile.glob(eval_pattern)
    probs, labels, counts = [], [], []
    for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(256):
        probs.append(model.signatures["predict_examples"](examples=batch)["probabilities"].numpy())
        t = model.signatures["transform_features"](examples=batch)
        labels.append(t["label_id"].numpy().reshape(-1))
        counts.append(t["label_train_count"].numpy().reshape(-1))
    return slice_accuracies(np.concatenate(probs), np.concatenate(labels), np.concatenate(counts), head_min)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", default=str(ROOT / "runs" / "bench_cotraining"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--head-min-train-images", type=int, default=30)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--modes", nargs="+", default=["baseline", "cotraining"], choices=["baseline", "cotraining"])
    parser.add_argument(
        "--word2vec", action="store_true",
        help="start co-training from the run's TitleWord2Vec vectors (as the pipeline does)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "cotraining_accuracy.json"))
    args = parser.parse_args(argv)
    config = load_config(None, [f"pipeline.output_dir={args.run_dir}", *args.overrides])
    if not config.metadata_path.exists():
        from sicot.cli import main as sicot_main

        sicot_main(["run", *sum((["--set", o] for o in [f"pipeline.output_dir={args.run_dir}", *args.overrides]), [])])
    from models.trainer import train_and_export

    transform_uri = latest_uri(config, "TransformGraph")
    examples_uri = latest_uri(config, "Examples")
    train_pattern = [str(Path(examples_uri) / "Split-train" / "*")]
    eval_pattern = str(Path(examples_uri) / "Split-eval" / "*")
    word_vectors_uri = latest_uri(config, "sicot.WordVectors") if args.word2vec else None
    results = {"config": config.to_dict(), "head_min_train_images": args.head_min_train_images,
               "word2vec": args.word2vec, "runs": []}
    for seed in args.seeds:
        for mode, co in (("baseline", "false"), ("cotraining", "true")):
            if mode not in args.modes:
                continue
            run_config = load_config(
                None, [f"pipeline.output_dir={args.run_dir}", *args.overrides, f"model.co_training={co}",
                       f"train.seed={seed}", "train.verbose=0"]
            )
            started = time.time()
            with tempfile.TemporaryDirectory() as out:
                train_and_export(run_config, train_pattern, [eval_pattern], transform_uri, out,
                                 word_vectors_uri=word_vectors_uri)
                metrics = score(out, eval_pattern, args.head_min_train_images)
            took = time.time() - started
            results["runs"].append({"mode": mode, "seed": seed, "seconds": took, "metrics": metrics})
            o = metrics["overall"]
            print(f"seed {seed} {mode:10s} top1 {o['top1']:.4f} top3 {o['top3']:.4f} "
                  f"tail top1 {metrics['tail']['top1']:.4f} ({took:.0f} s)", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    if set(args.modes) == {"baseline", "cotraining"}:
        print(table(results))
    return 0


def table(results: dict) -> str:
    lines = ["| slice | metric | baseline | co-training | gain |", "| --- | --- | --- | --- | --- |"]
    for name in ("overall", "head", "tail"):
        for metric in ("top1", "top3", "top1_per_class", "top3_per_class"):
            vals = {m: np.array([r["metrics"][name][metric] for r in results["runs"] if r["mode"] == m])
                    for m in ("baseline", "cotraining")}
            gain = vals["cotraining"] - vals["baseline"]
            fmt = lambda v: f"{100 * v.mean():.1f} ± {100 * v.std():.1f}"
            lines.append(f"| {name} | {metric} | {fmt(vals['baseline'])} | {fmt(vals['cotraining'])} | {fmt(gain)} |")
    counts = results["runs"][0]["metrics"]
    lines.append("")
    lines.append(", ".join(f"{n}: {counts[n]['examples']} eval images of {counts[n]['classes']} classes"
                           for n in ("overall", "head", "tail"))
                 + f"; head = at least {results['head_min_train_images']} training images; "
                 + f"mean ± std over seeds {sorted({r['seed'] for r in results['runs']})}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
