"""The emoji SKU benchmark: SKU-level long-tailed recognition across sellers, like the paper's.

A SKU is one emoji (``sample_data/emoji_vendors.py``: its id is the code point
sequence); its "sellers" are independent designs of it (Twemoji, Fluent flat and 3D,
Emoji One, Firefox OS, Streamline, OpenMoji, Noto). Two stages:

1. **render** (``render_sources``; needs npm and the ``resvg-py`` renderer, the
   ``data`` extra): fetches the pinned npm packages, maps each vendor's icons to SKUs,
   selects the SKUs, and writes one clean 64 px RGBA rendering per (vendor, SKU) to
   ``renders/<vendor>/<sku>.png`` and the SKUs' English and Chinese names and keywords
   to ``annotations.jsonl``, with the licences.
2. **compose** (``compose``; NumPy and Pillow only): from those files, the long-tail
   plan, the seller photos and titles, and the manifests ``train.jsonl``,
   ``validation.jsonl``, ``test.jsonl`` plus ``stats.json``. Every image and title has a
   seed of its own (a hash of the build seed, split, SKU, vendor and shot), so building
   any subset of SKUs gives exactly their rows and bytes of the full build.

**SKUs.** Emoji that at least ``min_vendors`` (4) vendors draw, skin-tone components
left out. Skin-tone variants are separate SKUs (the realistic, harder choice: in a
shop, colour variants are separate SKUs): ``families`` people emoji come with their
neutral form and all five tones (6 SKUs each, sharing every word of their titles but
the tone); every other SKU is a neutral emoji drawn at random.

**Splits, per SKU.** Its vendors are shuffled (seeded by SKU): ``test_vendors`` (2) of
them are its test vendors, one more its validation vendor, the rest its training
vendors. So every test image is "this product in another seller's photo": no test
image's vendor drew any training image of its SKU, and the validation split asks the
same question with a third vendor, for tuning without the test split.

- train: ``n_r`` shots (``long_tail_profile.long_tail_counts``: CIFAR-LT's exponential
  profile from ``max_shots`` down to ``min_shots``; with ``decay_share`` < 1 the decay
  ends early and the rest of the SKUs have ``min_shots``) in a random order of SKUs,
  the shots going round the SKU's training vendors;
- validation: ``validation_shots`` (2) shots of the validation vendor;
- test: ``test_shots`` (2) shots of each test vendor (4 per SKU: balanced).

Each shot is ``photo_shots.photo_shot`` of the vendor's rendering, each with a
``seller_titles.seller_title``. Manifest columns: ``image``, ``label`` (= the SKU id),
``title``, ``sku``, ``tags`` (the English keywords and the group), ``vendor``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image

from sample_data.emoji_annotations import Annotation, read_annotations, read_emojibase, write_annotations
from sample_data.emoji_vendors import VENDOR_NAMES, VENDORS, IconSet, name_index, vendor_skus
from sample_data.long_tail_profile import imbalance_ratio, long_tail_counts
from sample_data.npm_packages import NpmPackage, fetch_and_unpack
from sample_data.photo_shots import photo_shot
from sample_data.seller_titles import TitleStyle, seller_title

EMOJIBASE = NpmPackage(
    "emojibase-data", "17.0.0",
    "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==",
)
# Licence texts (SPDX's own copies) for the LICENSES folder.
SPDX_LICENSE_LIST = NpmPackage(
    "spdx-license-list", "6.12.0",
    "sha512-+nUYqm3aZMSHbjsthK+i/HHI2okTElCvqwUd4k8QcSk+FTGgjq+fsdFj2wZOaX6XmR2JdWhf/NeflNnvKOjcnQ==",
)
SPLITS = ("train", "validation", "test")
RENDERS = "renders"
ANNOTATIONS = "annotations.jsonl"
SPEC_FILE = "build_spec.json"
STATS_FILE = "stats.json"


@dataclasses.dataclass(frozen=True)
class BenchmarkSpec:
    skus: int = 300
    families: int = 10
    min_vendors: int = 4
    max_shots: int = 50
    min_shots: int = 1
    decay_share: float = 1.0
    test_vendors: int = 2
    test_shots: int = 2
    validation_shots: int = 2
    image_size: int = 64
    render_size: int = 64
    # Head classes for the statistics (and eval.head_min_train_images of the default config).
    head_min_train_images: int = 20
    seed: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class SkuPlan:
    sku: str
    rank: int  # 0 = the SKU with the most training images
    train_shots: int
    train_vendors: tuple[str, ...]
    validation_vendor: str
    test_vendors: tuple[str, ...]


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "little")


# -- stage 1: render ----------------------------------------------------------------


def select_skus(spec: BenchmarkSpec, annotations: dict[str, Annotation], coverage: dict[str, list[str]]) -> list[str]:
    """The benchmark's SKUs: ``families`` whole skin-tone families, then neutral emoji."""
    eligible = {s for s, vendors in coverage.items() if s in annotations and len(vendors) >= spec.min_vendors}
    tones: dict[str, list[str]] = {}
    for sku in sorted(eligible):
        a = annotations[sku]
        if a.tone and sku.count("-") == 1 and sku.endswith(("1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff")):
            tones.setdefault(a.family, []).append(sku)
    bases = sorted(b for b, members in tones.items() if len(members) == 5 and b in eligible)
    rng = np.random.Generator(np.random.PCG64(_seed(spec.seed, "select")))
    families = [bases[i] for i in sorted(rng.choice(len(bases), size=min(spec.families, len(bases)), replace=False))]
    chosen = [s for b in families for s in [b, *tones[b]]]
    pool = sorted(s for s in eligible if annotations[s].tone == 0 and s not in set(chosen))
    need = spec.skus - len(chosen)
    if need > len(pool):
        raise ValueError(f"only {len(pool) + len(chosen)} eligible SKUs for --skus {spec.skus}")
    chosen += [pool[i] for i in sorted(rng.choice(len(pool), size=need, replace=False))]
    return sorted(chosen)


def _render_png(svg: str, size: int) -> bytes:
    import resvg_py  # the `data` extra: pip install -e '.[data]'

    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size, skip_system_fonts=True))


def render_sources(spec: BenchmarkSpec, out: Path, cache_dir: Path, say: Callable[[str], None] = print) -> list[str]:
    """Stage 1: npm packages -> renders/, annotations.jsonl, licences. Returns the SKUs."""
    say(f"==> sources  npm packages into {cache_dir}")
    sets = {v.name: IconSet(fetch_and_unpack(v.package, cache_dir)) for v in VENDORS}
    annotations = read_emojibase(fetch_and_unpack(EMOJIBASE, cache_dir))
    names = name_index({s: a.name_en for s, a in annotations.items()},
                       [sets[v.name] for v in VENDORS if v.sku_by == "chars"])
    maps = {v.name: vendor_skus(v, sets[v.name], names, sets["fluent-flat"].chars) for v in VENDORS}
    coverage: dict[str, list[str]] = {}
    for vendor in VENDOR_NAMES:
        for sku in maps[vendor]:
            coverage.setdefault(sku, []).append(vendor)
    for vendor in VENDOR_NAMES:
        say(f"    {vendor}: {len(maps[vendor])} emoji mapped to SKUs")
    skus = select_skus(spec, annotations, coverage)
    say(f"==> render  {len(skus)} SKUs x their vendors at {spec.render_size} px (resvg)")
    shutil.rmtree(out / RENDERS, ignore_errors=True)
    blank = 0
    for vendor in VENDOR_NAMES:
        folder = out / RENDERS / vendor
        folder.mkdir(parents=True, exist_ok=True)
        for sku in skus:
            if sku not in maps[vendor]:
                continue
            png = _render_png(sets[vendor].svg(maps[vendor][sku]), spec.render_size)
            if Image.open(io.BytesIO(png)).getchannel("A").getbbox() is None:
                blank += 1  # a design the renderer draws empty: that vendor has no such SKU
                continue
            (folder / f"{sku}.png").write_bytes(png)
    if blank:
        say(f"    {blank} renderings were empty and are left out")
    write_annotations(out / ANNOTATIONS, [annotations[s] for s in skus])
    (out / SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    write_licences(out, cache_dir)
    return skus


# -- stage 2: compose ---------------------------------------------------------------


def source_coverage(sources: Path) -> dict[str, list[str]]:
    """SKU -> vendors with a rendering under renders/ (in VENDORS order)."""
    coverage: dict[str, list[str]] = {}
    for vendor in VENDOR_NAMES:
        for png in sorted((sources / RENDERS / vendor).glob("*.png")):
            coverage.setdefault(png.stem, []).append(vendor)
    return coverage


def plan_skus(spec: BenchmarkSpec, skus: list[str], coverage: dict[str, list[str]]) -> list[SkuPlan]:
    """Training counts (long tail over a random order of the SKUs) and vendor roles."""
    skus = sorted(skus)
    order = np.random.Generator(np.random.PCG64(_seed(spec.seed, "ranks"))).permutation(len(skus))
    counts = long_tail_counts(len(skus), spec.max_shots, spec.min_shots, spec.decay_share)
    plans = []
    for rank, index in enumerate(order):
        sku = skus[index]
        vendors = list(coverage[sku])
        if len(vendors) < spec.test_vendors + 2:
            raise ValueError(f"SKU {sku} has {len(vendors)} vendors; need {spec.test_vendors + 2}")
        np.random.Generator(np.random.PCG64(_seed(spec.seed, "vendors", sku))).shuffle(vendors)
        t = spec.test_vendors
        plans.append(SkuPlan(sku, rank, counts[rank], tuple(vendors[t + 1:]), vendors[t], tuple(vendors[:t])))
    return sorted(plans, key=lambda p: p.sku)


def _shots(plan: SkuPlan, spec: BenchmarkSpec) -> Iterable[tuple[str, str, int]]:
    """(split, vendor, shot index) of every image of one SKU."""
    for i in range(plan.train_shots):
        yield "train", plan.train_vendors[i % len(plan.train_vendors)], i
    for i in range(spec.validation_shots):
        yield "validation", plan.validation_vendor, i
    for vendor in plan.test_vendors:
        for i in range(spec.test_shots):
            yield "test", vendor, i


def _tags(a: Annotation) -> list[str]:
    return [*a.keywords_en, a.group]


def compose(spec: BenchmarkSpec, sources: Path, out: Path | None = None, only: set[str] | None = None,
            style: TitleStyle = TitleStyle(), say: Callable[[str], None] = print) -> dict:
    """Stage 2: renders + annotations (under ``sources``) -> images, manifests and
    statistics (under ``out``, default ``sources``).

    ``only``: build just these SKUs (their rows and bytes are those of the full build);
    the statistics then cover only them and are not written.
    """
    out = out or sources
    annotations = read_annotations(sources / ANNOTATIONS)
    skus = sorted(annotations)
    position = {s: i for i, s in enumerate(skus)}
    plans = plan_skus(spec, skus, source_coverage(sources))
    built = [p for p in plans if only is None or p.sku in only]
    renders: dict[tuple[str, str], Image.Image] = {}
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    traits: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for split in SPLITS:
        shutil.rmtree(out / "images" / split, ignore_errors=True)
        (out / "images" / split).mkdir(parents=True)
    total = sum(p.train_shots + spec.validation_shots + spec.test_vendors * spec.test_shots for p in built)
    say(f"==> compose  {len(built)} SKUs, {total} images into {out}")
    done = 0
    for plan in built:
        a = annotations[plan.sku]
        for split, vendor, shot in _shots(plan, spec):
            key = (vendor, plan.sku)
            if key not in renders:
                renders[key] = Image.open(sources / RENDERS / vendor / f"{plan.sku}.png").convert("RGBA")
            image, _ = photo_shot(renders[key], _seed(spec.seed, "photo", split, plan.sku, vendor, shot), spec.image_size)
            path = f"images/{split}/{plan.sku}_{vendor}_{shot}.jpg"
            (out / path).write_bytes(image)
            title_seed = _seed(spec.seed, "title", split, plan.sku, vendor, shot)
            other = skus[(position[plan.sku] + 1 + title_seed % (len(skus) - 1)) % len(skus)]
            title, drawn = seller_title(a, annotations[other], title_seed, style)
            rows[split].append(
                {"image": path, "label": plan.sku, "title": title, "sku": plan.sku, "tags": _tags(a), "vendor": vendor}
            )
            traits[split].append(drawn)
            done += 1
            if done % 1000 == 0:
                say(f"    {done}/{total} images")
    for split in SPLITS:
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for row in rows[split]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    stats = benchmark_stats(spec, built, rows, traits)
    if only is None:
        (out / STATS_FILE).write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    return stats


def benchmark_stats(spec: BenchmarkSpec, plans: list[SkuPlan], rows: dict[str, list[dict]],
                    traits: dict[str, list[dict]]) -> dict:
    counts = [p.train_shots for p in plans]
    head = [c for c in counts if c >= spec.head_min_train_images]

    def share(split_traits: list[dict], key: str, value=True) -> float:
        return round(sum(1 for t in split_traits if t[key] == value) / max(1, len(split_traits)), 4)

    every = [t for s in SPLITS for t in traits[s]]
    return {
        "skus": len(plans),
        "skin_tone_skus": sum(1 for p in plans if len(p.sku.split("-")) == 2 and p.sku.split("-")[1].startswith("1f3f")),
        "images": {s: len(rows[s]) for s in SPLITS},
        "train_images_per_sku": {"max": max(counts), "min": min(counts), "mean": round(float(np.mean(counts)), 2),
                                 "median": float(np.median(counts))},
        "imbalance_ratio": imbalance_ratio(counts),
        "head_min_train_images": spec.head_min_train_images,
        "head_skus": len(head),
        "tail_skus": len(counts) - len(head),
        "skus_with_1_or_2_train_images": sum(1 for c in counts if c <= 2),
        "titles": {
            "empty": share(every, "language", "none"),
            "english": share(every, "language", "english"),
            "chinese": share(every, "language", "chinese"),
            "mixed": share(every, "language", "mixed"),
            "copied_from_another_sku": share(every, "copied"),
            "promo": share(every, "promo"),
            "shop_name": share(every, "shop"),
            "year": share(every, "year"),
            "size": share(every, "size"),
        },
        "vendors": {s: dict(sorted(Counter(r["vendor"] for r in rows[s]).items())) for s in SPLITS},
        "vendors_per_sku": {"train": round(float(np.mean([min(p.train_shots, len(p.train_vendors)) for p in plans])), 2),
                            "validation": 1, "test": spec.test_vendors},
        "spec": spec.to_dict(),
    }


def plot_profile(out: Path, figure: Path) -> None:
    """The long-tail profile: training images per SKU by rank, head/tail line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = json.loads((out / STATS_FILE).read_text())
    counts = sorted(Counter(json.loads(l)["label"] for l in open(out / "train.jsonl", encoding="utf-8")).values(),
                    reverse=True)
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    ax.bar(range(len(counts)), counts, width=1.0, color="#4c72b0")
    ax.axhline(stats["head_min_train_images"], color="#c44e52", lw=1, ls="--",
               label=f"head: >= {stats['head_min_train_images']} images ({stats['head_skus']} SKUs)")
    ax.set_yscale("log")
    ax.set_xlabel("SKU rank")
    ax.set_ylabel("training images")
    ax.set_title(f"emoji SKU benchmark: {stats['skus']} SKUs, {stats['images']['train']} training images, "
                 f"imbalance {stats['imbalance_ratio']:.0f}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, metadata={"Software": None})
    plt.close(fig)


# -- licences -------------------------------------------------------------------------


def write_licences(out: Path, cache_dir: Path) -> None:
    """LICENSES.md (who made what, under which licence, what we changed) and the texts."""
    spdx = fetch_and_unpack(SPDX_LICENSE_LIST, cache_dir) / "licenses"
    folder = out / "licenses"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for licence in sorted({v.licence for v in VENDORS}):
        text = json.loads((spdx / f"{licence}.json").read_text(encoding="utf-8"))["licenseText"]
        if licence == "MIT":
            text = text.replace("Copyright (c) <year> <copyright holders>", "Copyright (c) Microsoft Corporation.")
        (folder / f"{licence}.txt").write_text(text.rstrip() + "\n", encoding="utf-8")
    emojibase = fetch_and_unpack(EMOJIBASE, cache_dir)
    shutil.copyfile(emojibase / "LICENSE", folder / "emojibase-data-MIT.txt")
    lines = [
        "# Licences of the emoji SKU benchmark",
        "",
        "Every image under `images/` and `renders/` is an adaptation (rendered, placed on a",
        "background, rotated, scaled, relit, blurred, JPEG-compressed: see",
        "`sample_data/photo_shots.py`) of one vendor's emoji design; the `vendor` column of",
        "`train.jsonl`, `validation.jsonl` and `test.jsonl` and the `renders/<vendor>/` folder",
        "say whose. Each is used under its licence below. Images derived from OpenMoji are",
        "licensed CC BY-SA 4.0 (ShareAlike). The Apple and Facebook emoji sets are not used.",
        "",
        "| vendor | design | author | licence | source (npm) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for v in VENDORS:
        lines.append(
            f"| `{v.name}` | {v.design} ({v.homepage}) | {v.author} | [{v.licence}]({v.licence_url}), "
            f"text: `licenses/{v.licence}.txt` | `{v.package.spec}` (Iconify JSON) |"
        )
    lines += [
        "",
        "Titles and tags are generated from the names and keywords of `emojibase-data@17.0.0`",
        "(MIT, Copyright (c) 2017-2019 Miles Johnson; `licenses/emojibase-data-MIT.txt`), whose",
        "data comes from the Unicode CLDR annotations; `annotations.jsonl` holds the part used.",
        "Licence texts are SPDX's copies from `spdx-license-list@6.12.0`.",
        "",
        "Rebuild: `python scripts/build_emoji_sku_benchmark.py` (README, \"Sample data\").",
    ]
    (out / "LICENSES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
