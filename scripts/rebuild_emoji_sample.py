#!/usr/bin/env python3
"""Rebuilds the bundled sample data set (data/emoji/) from the npm package.

    python scripts/rebuild_emoji_sample.py                 # runs `npm pack` itself
    python scripts/rebuild_emoji_sample.py --tarball emoji-datasource-google-16.0.0.tgz

Source: emoji-datasource-google@16.0.0 (MIT, (c) Cal Henderson) with the Noto Emoji
images (Apache-2.0, Google). Every PNG under img/google/64/ becomes one row of
data/emoji/manifest.jsonl, skin-tone variations included:

    label  the emoji's subcategory (99 classes, 492 images down to 1)
    title  its name plus its short names (underscores as spaces), plus the skin tone
           words for a variation ("santa claus santa medium dark skin tone")
    sku    the emoji's unified code point sequence (1F385-1F3FE)
    tags   its category and its short names

The PNG files are copied byte for byte.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "emoji-datasource-google@16.0.0"
ROOT = Path(__file__).resolve().parent.parent
SKIN_TONES = {
    "1F3FB": "light skin tone",
    "1F3FC": "medium light skin tone",
    "1F3FD": "medium skin tone",
    "1F3FE": "medium dark skin tone",
    "1F3FF": "dark skin tone",
}
APACHE_LICENSE_HINT = "Apache License\n                           Version 2.0"


def _words(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).lower()


def emoji_rows(emoji: list[dict], available: set[str]) -> list[dict]:
    rows = []
    for entry in sorted(emoji, key=lambda e: e["sort_order"]):
        short = [_words(s) for s in entry["short_names"]]
        base_title = " ".join([_words(entry["name"] or short[0])] + short)
        tags = [entry["category"]] + entry["short_names"]
        variants = [(entry, base_title)]
        for key, variation in sorted((entry.get("skin_variations") or {}).items()):
            tones = " ".join(SKIN_TONES[t] for t in key.split("-"))
            variants.append((variation, f"{base_title} {tones}"))
        for item, title in variants:
            if item.get("has_img_google") and item["image"] in available:
                rows.append(
                    {
                        "image": f"images/{item['image']}",
                        "label": entry["subcategory"],
                        "title": title,
                        "sku": item["unified"],
                        "tags": tags,
                    }
                )
    return rows


def _apache_license_text() -> str:
    """The Apache-2.0 text, taken from an installed package that ships it verbatim."""
    import importlib.metadata as md

    for dist in ("tensorflow", "grpcio", "absl-py"):
        try:
            files = md.distribution(dist).files or []
        except md.PackageNotFoundError:
            continue
        for f in files:
            if f.name.upper().startswith("LICENSE"):
                text = f.read_text()
                if APACHE_LICENSE_HINT.split("\n")[0] in text and "Version 2.0" in text:
                    return text
    raise SystemExit("no Apache-2.0 licence text found in the installed packages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tarball", help="the npm tarball; fetched with `npm pack` when omitted")
    parser.add_argument("--out", default=str(ROOT / "data" / "emoji"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball
        if tarball is None:
            subprocess.run(["npm", "pack", PACKAGE], cwd=tmp, check=True)
            tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        pkg = Path(tmp) / "package"
        image_dir = pkg / "img" / "google" / "64"
        available = {p.name for p in image_dir.glob("*.png")}
        rows = emoji_rows(json.loads((pkg / "emoji.json").read_text()), available)
        if out.exists():
            shutil.rmtree(out / "images", ignore_errors=True)
        (out / "images").mkdir(parents=True, exist_ok=True)
        for row in rows:
            shutil.copyfile(image_dir / Path(row["image"]).name, out / row["image"])
        with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        shutil.copyfile(pkg / "LICENSE", out / "LICENSE-emoji-datasource-MIT.txt")
    (out / "LICENSE-noto-emoji-images-Apache-2.0.txt").write_text(_apache_license_text())
    labels = {r["label"] for r in rows}
    print(f"wrote {len(rows)} images of {len(labels)} classes to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
