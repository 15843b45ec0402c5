"""Ingest at 10k and 100k rows: the pipeline's ManifestExampleGen against the
single-process ingest it replaced, on the same synthetic manifest.

    python bench/ingest_scaling.py                        # 10k and 100k rows, 2 workers
    python bench/ingest_scaling.py --rows 2000 20000      # a quick look

The manifest: distinct generated images (--image-size px, PNG and JPEG alternating,
noise so that no two are alike), --classes classes with a long tail (Zipf), titles and
tags; the first N rows of one 100k-row manifest make the N-row manifest. Each
(rows, ingest) runs in a fresh process; the parent samples the resident memory of that
process and all its children (the DirectRunner's workers) every 50 ms: the peak is
their summed RSS. Throughput = rows / seconds of the ingest call (imports excluded).

- beam:<mode>: components/manifest_example_gen.py's Executor (the pipeline's first
          node, the same Beam graph as `sicot ingest`) on the DirectRunner in that
          running mode (--modes): multi_processing with --workers worker processes,
          multi_threading with --workers threads, in_memory (one worker in the
          calling process).
- single: bench/single_process_ingest.py, the ingest before issue 14 (one process,
          every accepted image held in memory).

Targets: peak memory of a beam run at the largest size at most 1.3x its peak at the
smallest (flat, not proportional to the rows), and beam throughput at least the single
process's. Also checked: both put exactly the same rows in train,
validation and eval (the same hold-out choices). Writes bench/results/ingest_scaling.json.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_manifest(folder: Path, rows: int, classes: int, image_size: int) -> Path:
    """folder/manifest-<rows>.jsonl over folder/images (made once, reused)."""
    import numpy as np
    from PIL import Image

    manifest = folder / f"manifest-{rows}.jsonl"
    if manifest.exists():
        return manifest
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, classes + 1)
    labels = rng.choice(classes, size=rows, p=weights / weights.sum())
    base = rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)
    lines = []
    for i in range(rows):
        name = f"images/{i:06d}.{'png' if i % 2 else 'jpg'}"
        path = folder / name
        if not path.exists():
            pixels = base.copy()
            pixels[i % image_size, :, :] = (i * 7) % 256  # a distinct row stripe ...
            pixels[:, (i // image_size) % image_size, 0] = (i // 7) % 256  # ... and column
            pixels[0, 0] = (i % 256, (i // 256) % 256, (i // 65536) % 256)
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, "PNG" if i % 2 else "JPEG", quality=90)
            path.write_bytes(buf.getvalue())
        label = int(labels[i])
        lines.append(json.dumps({"image": name, "label": f"sku-{label}", "title": f"product {label} colour {i % 13}",
                                 "tags": ["bench", f"c{label % 10}"]}))
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def _options(manifest: str):
    from sicot.config import DataConfig

    return DataConfig(manifest=manifest, eval_manifest=None, validation_manifest=None, max_reject_ratio=0.01)


def child(kind: str, manifest: str, out: str, workers: int) -> None:
    """Runs one ingest; prints {"seconds": ..., "ids": {split: [example ids]}}."""
    from sicot.console import quiet_libraries

    quiet_libraries()
    import tensorflow as tf

    out_dir = Path(out)
    options = _options(manifest)
    if kind == "single":  # else beam:<direct_running_mode>
        from bench.single_process_ingest import single_process_ingest

        started = time.time()
        ids = single_process_ingest(options, out_dir)
        seconds = time.time() - started
    else:
        from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
        from tfx.types import standard_artifacts

        from components.manifest_example_gen import Executor, IngestReport, data_options_json

        examples, report = standard_artifacts.Examples(), IngestReport()
        examples.uri, report.uri = str(out_dir / "examples"), str(out_dir / "report")
        mode = kind.split(":")[1]
        beam_args = [f"--direct_num_workers={workers if mode != 'in_memory' else 1}", f"--direct_running_mode={mode}"]
        executor = Executor(BaseBeamExecutor.Context(beam_pipeline_args=beam_args, tmp_dir=str(out_dir / "tmp")))
        started = time.time()
        executor.Do({}, {"examples": [examples], "ingest_report": [report]},
                    {"manifest": manifest, "data_options": data_options_json(options)})
        seconds = time.time() - started
        ids = {}
        for split in ("train", "validation", "eval"):
            files = sorted(str(p) for p in (out_dir / "examples" / f"Split-{split}").glob("*.gz"))
            ids[split] = sorted(
                tf.train.Example.FromString(r).features.feature["example_id"].bytes_list.value[0].decode()
                for r in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
    print("RESULT " + json.dumps({"seconds": seconds, "ids": ids}))


def measure(kind: str, manifest: Path, out: Path, workers: int) -> dict:
    import psutil

    log = out.parent / f"{out.name}.log"
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--manifest", str(manifest), "--out", str(out),
         "--workers", str(workers)], stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd=ROOT)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{kind} ingest of {manifest} failed (exit {process.returncode}); see {log}")
    result = json.loads([line for line in stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    return {"seconds": result["seconds"], "peak_rss_mib": peak / 2**20, "ids": result["ids"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--classes", type=int, default=2000)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--data", default="/tmp/sicot_ingest_bench", help="where the synthetic images go (reused)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "ingest_scaling.json"))
    p.add_argument("--modes", nargs="+", default=["multi_processing", "multi_threading", "in_memory"],
                   help="DirectRunner running modes of the beam runs (in_memory: one worker)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--manifest", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.manifest, args.out, args.workers)
        return 0

    import shutil

    data = Path(args.data)
    rows = sorted(args.rows)
    make_manifest(data, rows[-1], args.classes, args.image_size)  # the images of every size
    results = []
    for n in rows:
        manifest = make_manifest(data, n, args.classes, args.image_size)
        row = {"rows": n}
        for kind in ("single", *(f"beam:{m}" for m in args.modes)):
            out = data / f"out-{kind.replace(':', '-')}-{n}"
            shutil.rmtree(out, ignore_errors=True)
            m = measure(kind, manifest, out, args.workers)
            row[kind] = m
            print(f"{n:>7} rows  {kind:<22}  {m['seconds']:7.1f} s  {n / m['seconds']:7.0f} images/s  "
                  f"peak {m['peak_rss_mib']:7.0f} MiB", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        beams = [k for k in row if k.startswith("beam:")]
        row["same_splits"] = all(row["single"]["ids"] == row[k]["ids"] for k in beams)
        row["split_sizes"] = {s: len(v) for s, v in row["single"]["ids"].items()}
        for kind in ("single", *beams):
            del row[kind]["ids"]
        results.append(row)
    small, large = results[0], results[-1]
    print()
    summary = {}
    for kind in ("single", *(f"beam:{m}" for m in args.modes)):
        memory = large[kind]["peak_rss_mib"] / small[kind]["peak_rss_mib"]
        throughput = {r["rows"]: r["single"]["seconds"] / r[kind]["seconds"] for r in results}
        summary[kind] = {"memory_ratio": memory, "throughput_vs_single": {str(k): v for k, v in throughput.items()}}
        print(f"{kind:<22} peak memory {large['rows']} / {small['rows']} rows: {memory:.2f}x"
              + ("" if kind == "single" else "  (target <= 1.3);  throughput / single-process: "
                 + ", ".join(f"{v:.2f}x at {k}" for k, v in throughput.items()) + " (target >= 1.0)"))
    print("same rows in train / validation / eval as the single-process ingest: "
          + ", ".join(f"{r['rows']}: {r['same_splits']}" for r in results))
    doc = {"workers": args.workers, "classes": args.classes, "image_size": args.image_size, "results": results,
           "summary": summary, "same_splits": all(r["same_splits"] for r in results)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
