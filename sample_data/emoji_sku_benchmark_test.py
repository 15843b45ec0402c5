"""The promises of the bundled SKU benchmark (data/emoji_sku), checked on the committed files."""

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from sample_data.emoji_sku_benchmark import SPEC_FILE, SPLITS, BenchmarkSpec, compose, plan_skus, source_coverage

DATA = Path(__file__).resolve().parent.parent / "data" / "emoji_sku"
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def rows():
    return {s: [json.loads(line) for line in open(DATA / f"{s}.jsonl", encoding="utf-8")] for s in SPLITS}


@pytest.fixture(scope="module")
def stats():
    return json.loads((DATA / "stats.json").read_text())


def test_no_test_or_validation_vendor_drew_a_training_image_of_its_sku(rows):
    vendors = {s: defaultdict(set) for s in SPLITS}
    for split in SPLITS:
        for row in rows[split]:
            assert row["label"] == row["sku"] and (DATA / row["image"]).is_file()
            vendors[split][row["sku"]].add(row["vendor"])
    for sku, train_vendors in vendors["train"].items():
        assert not train_vendors & vendors["test"][sku], sku
        assert not train_vendors & vendors["validation"][sku], sku
        assert not vendors["validation"][sku] & vendors["test"][sku], sku
    assert set(vendors["test"]) == set(vendors["validation"]) == set(vendors["train"])


def test_test_split_is_balanced_and_the_training_split_long_tailed(rows, stats):
    test_counts = Counter(r["sku"] for r in rows["test"])
    assert len(set(test_counts.values())) == 1 and min(test_counts.values()) >= 2
    train_counts = Counter(r["sku"] for r in rows["train"])
    ratio = max(train_counts.values()) / min(train_counts.values())
    assert ratio >= 50 and ratio == stats["imbalance_ratio"]
    head = sum(1 for c in train_counts.values() if c >= stats["head_min_train_images"])
    assert head == stats["head_skus"] and head < len(train_counts) / 2  # most SKUs are in the tail
    assert len(train_counts) == stats["skus"] and len(rows["train"]) == stats["images"]["train"]


def test_title_statistics_are_what_the_manifests_hold(rows, stats):
    every = [r for s in SPLITS for r in rows[s]]
    empty = sum(1 for r in every if not r["title"]) / len(every)
    assert empty == pytest.approx(stats["titles"]["empty"], abs=1e-4)
    han = sum(1 for r in every if re.search(r"[\u4e00-\u9fff]", r["title"])) / len(every)
    # Chinese and mixed titles hold Han characters; an English one only through a shop name.
    chinese_or_mixed = stats["titles"]["chinese"] + stats["titles"]["mixed"]
    assert chinese_or_mixed <= han <= chinese_or_mixed + stats["titles"]["shop_name"] * stats["titles"]["english"]
    assert 0.02 <= stats["titles"]["copied_from_another_sku"] <= 0.05


def test_readme_states_the_committed_statistics(stats):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Sample data"):]
    section = section[: section.index("\n## ", 3)]
    for expected in (
        f"| SKUs | {stats['skus']} ",
        f"| training images | {stats['images']['train']} ",
        f"| imbalance ratio (max / min training images per SKU) | {stats['imbalance_ratio']:.0f} ",
        f"| Chinese titles | {100 * stats['titles']['chinese']:.1f}% ",
        f"| titles with no text | {100 * stats['titles']['empty']:.1f}% ",
    ):
        assert expected in section, expected


def test_a_small_rebuild_is_byte_identical_twice_and_to_the_committed_files(rows, tmp_path):
    spec = BenchmarkSpec(**json.loads((DATA / SPEC_FILE).read_text()))
    plans = plan_skus(spec, sorted(source_coverage(DATA)), source_coverage(DATA))
    by_shots = sorted(plans, key=lambda p: p.rank)
    only = {by_shots[0].sku, by_shots[40].sku, by_shots[-1].sku, by_shots[-2].sku}  # a head SKU and tail ones
    builds = []
    for name in ("a", "b"):
        compose(spec, DATA, tmp_path / name, only=only, say=lambda _: None)
        builds.append({p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*") if p.is_file()})
    assert builds[0] == builds[1]
    for split in SPLITS:
        rebuilt = [json.loads(line) for line in open(tmp_path / "a" / f"{split}.jsonl", encoding="utf-8")]
        assert rebuilt == [r for r in rows[split] if r["sku"] in only]
        for row in rebuilt:
            assert builds[0][Path(row["image"])] == (DATA / row["image"]).read_bytes()
    assert len(builds[0]) == 3 + sum(1 for s in SPLITS for r in rows[s] if r["sku"] in only)
