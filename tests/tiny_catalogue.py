"""A tiny, easy, long-tailed image catalogue for tests: one solid colour per class."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

COLOURS = {
    "red": (220, 20, 20),
    "green": (20, 200, 20),
    "blue": (20, 20, 220),
    "yellow": (230, 230, 20),
}
# A long tail: 24, 12, 6 and 3 images.
COUNTS = {"red": 24, "green": 13, "blue": 6, "yellow": 3}


def png_bytes(rgb, size=(12, 10), noise: int = 0) -> bytes:
    image = Image.new("RGB", size, rgb)
    if noise:
        # A few pixels differ so that no two images are exact duplicates.
        for i in range(noise):
            image.putpixel((i % size[0], (i // size[0]) % size[1]), tuple((c + 7 * (i + 1)) % 256 for c in rgb))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def write_catalogue(root: Path, counts: dict[str, int] = COUNTS) -> Path:
    """Writes images/ and manifest.jsonl under root; returns the manifest path."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for label, n in counts.items():
        for i in range(n):
            name = f"images/{label}_{i}.png"
            (root / name).write_bytes(png_bytes(COLOURS[label], noise=i + 1))
            rows.append(
                {"image": name, "label": label, "title": f"{label} thing number {i}", "sku": f"{label}-{i}",
                 "tags": [label, "colour"]}
            )
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def split_records(run_dir: Path, split: str) -> list[bytes]:
    """The serialized tf.Examples of one split of a `sicot run`: the artifact the pipeline's
    later components read (ExampleScreen's with data.examples, else ManifestExampleGen's)."""
    import tensorflow as tf

    files = []
    for node in ("ExampleScreen", "ManifestExampleGen"):
        files = files or sorted(str(p) for p in Path(run_dir).glob(f"pipeline/{node}/examples/*/Split-{split}/*.gz"))
    return list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())


def catalogue_settings(root: Path) -> list[str]:
    """`section.key=value` settings that point a pipeline at a tiny catalogue written under
    root (its manifests must exist when the pipeline is built), hold-outs carved from it."""
    manifest = root / "catalogue" / "manifest.jsonl"
    if not manifest.exists():
        write_catalogue(root / "catalogue")
    return [f"data.manifest={manifest}", "data.eval_manifest=null", "data.validation_manifest=null"]
