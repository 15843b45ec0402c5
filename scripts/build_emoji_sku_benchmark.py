#!/usr/bin/env python3
"""Builds the emoji SKU benchmark (data/emoji_sku/) from pinned npm packages.

    pip install -e '.[data]'                                   # the SVG renderer (resvg-py)
    python scripts/build_emoji_sku_benchmark.py                # the bundled build (both stages)
    python scripts/build_emoji_sku_benchmark.py --compose-only # stage 2 from the committed renders
    python scripts/build_emoji_sku_benchmark.py --out data/emoji_sku_2k --skus 2000 --max-shots 200 --families 60

Stage 1 fetches the npm tarballs (`npm pack`, integrity-checked) and renders every
(vendor, SKU) once; stage 2 makes the seller photos, titles and manifests. See
sample_data/emoji_sku_benchmark.py for what each setting means.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sample_data.emoji_sku_benchmark import SPEC_FILE, BenchmarkSpec, compose, plot_profile, render_sources  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "emoji_sku"))
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "sicot-npm"),
                        help="where npm tarballs are kept (fetched with `npm pack` when missing)")
    parser.add_argument("--compose-only", action="store_true",
                        help="skip stage 1: compose from the renders and annotations already in --out")
    for field in dataclasses.fields(BenchmarkSpec):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=field.type if field.type in (int, float) else
                            {"int": int, "float": float}[field.type], default=None)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(BenchmarkSpec) if getattr(args, f.name) is not None}
    if args.compose_only:
        spec = BenchmarkSpec(**{**json.loads((out / SPEC_FILE).read_text()), **given})
    else:
        spec = BenchmarkSpec(**given)
    started = time.time()
    if not args.compose_only:
        render_sources(spec, out, Path(args.cache))
    stats = compose(spec, out)
    plot_profile(out, out / "long_tail_profile.png")
    print(f"==> summary  {time.time() - started:.0f} s")
    print(f"    {stats['skus']} SKUs ({stats['head_skus']} head, {stats['tail_skus']} tail), images "
          f"{stats['images']}, imbalance ratio {stats['imbalance_ratio']:.0f}")
    print(f"    manifests: {out}/train.jsonl, validation.jsonl, test.jsonl; statistics: {out}/stats.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
