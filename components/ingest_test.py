"""Ingestion: every kind of bad row is reported with its line; good rows go through."""

import io
import json
from pathlib import Path

import pytest
import tensorflow as tf
from PIL import Image

from components.ingest import IngestError, ingest
from components.manifest import read_manifest
from sicot.config import DataConfig
from models import features
from tests.tiny_catalogue import COLOURS, COUNTS, png_bytes, write_catalogue


def _read_split(path):
    spec = {
        features.IMAGE: tf.io.FixedLenFeature([], tf.string),
        features.TITLE: tf.io.FixedLenFeature([], tf.string),
        features.LABEL: tf.io.FixedLenFeature([], tf.string),
        features.SKU: tf.io.FixedLenFeature([], tf.string),
        features.TAGS: tf.io.VarLenFeature(tf.string),
        features.EXAMPLE_ID: tf.io.FixedLenFeature([], tf.string),
    }
    files = sorted(str(p) for p in path.glob("data_tfrecord-*.gz"))
    return [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


@pytest.fixture()
def messy_manifest(tmp_path):
    """10 good rows with, between them, one row of each bad kind."""
    (tmp_path / "images").mkdir()
    good = []
    for i in range(10):
        label = ["red", "blue"][i % 2]
        (tmp_path / f"images/good{i}.png").write_bytes(png_bytes(COLOURS[label], noise=i + 1))
        good.append(json.dumps({"image": f"images/good{i}.png", "label": label, "title": f"{label} shoe {i}",
                                "tags": ["a", "b"]}).encode())
    (tmp_path / "images/corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    (tmp_path / "images/truncated.png").write_bytes(png_bytes((1, 2, 3), size=(64, 64), noise=50)[:-40])
    (tmp_path / "images/not_image.png").write_bytes(b"hello, I am text")
    (tmp_path / "images/nolabel.png").write_bytes(png_bytes((9, 9, 9)))
    (tmp_path / "images/badtitle.png").write_bytes(png_bytes((8, 8, 8)))
    webp = io.BytesIO()
    Image.new("RGB", (9, 9), (40, 50, 60)).save(webp, "WEBP")
    (tmp_path / "images/photo.webp").write_bytes(webp.getvalue())
    bad = [
        b'{"image": "images/missing.png", "label": "red", "title": "gone"}',
        b'{"image": "images/corrupt.png", "label": "red", "title": "broken"}',
        b'{"image": "images/truncated.png", "label": "red", "title": "cut short"}',
        b'{"image": "images/not_image.png", "label": "red", "title": "text"}',
        b'{"image": "images/nolabel.png", "title": "no label"}',
        b'{"image": "images/badtitle.png", "label": "red", "title": "caf\xe9 latin-1"}',
        b'{"image": "images/good0.png", "label": "red", "title": "same bytes again"}',
        b'{"image": "images/good1.png", "label": ',
        b'{"image": "images/photo.webp", "label": "blue"}',  # good: converted, no title
    ]
    lines = []
    for i in range(10):
        lines.append(good[i])
        if i < len(bad):
            lines.append(bad[i])
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(b"\n".join(lines) + b"\n")
    return manifest


def _options(manifest, **kw):
    base = dict(manifest=str(manifest), eval_manifest=None, validation_manifest=None, eval_per_class=1,
                eval_max_fraction=0.5, max_reject_ratio=0.9)
    base.update(kw)
    return DataConfig(**base)


def test_each_bad_row_is_reported_with_its_line_and_good_rows_survive(messy_manifest, tmp_path):
    result = ingest(_options(messy_manifest), tmp_path / "out")
    reasons = {r.line: r.reason for r in result.rejects}
    # Lines alternate good (odd) and bad (even) for the first 9 pairs.
    assert reasons[2] == "image file not found"
    assert reasons[4].startswith("image cannot be decoded") or reasons[4].startswith("not an image")
    assert reasons[6].startswith("image cannot be decoded")
    assert reasons[8] == "not an image (unknown format)"
    assert reasons[10] == "missing label"
    assert reasons[12] == "title is not valid UTF-8"
    assert reasons[14] == f"exact duplicate of the image at {messy_manifest}:1"
    assert reasons[16].startswith("not valid JSON")
    assert set(reasons) == {2, 4, 6, 8, 10, 12, 14, 16}
    assert result.counts["rows"] == 19 and result.counts["accepted"] == 11 and result.counts["rejected"] == 8

    rows = [r for split in ("train", "validation", "eval") for r in _read_split(tmp_path / "out" / f"Split-{split}")]
    titles = sorted(r[features.TITLE].numpy().decode() for r in rows)
    assert titles == sorted([f"{['red', 'blue'][i % 2]} shoe {i}" for i in range(10)] + [""])
    webp_row = [r for r in rows if r[features.TITLE].numpy() == b""][0]
    # The WebP image was re-encoded as PNG, which TensorFlow decodes.
    decoded = tf.io.decode_image(webp_row[features.IMAGE])
    assert decoded.shape == (9, 9, 3)
    assert webp_row[features.SKU].numpy() == b"blue"  # sku defaults to the label

    report = json.loads(result.report_path.read_text())
    assert len(report["rejects"]) == 8 and report["rejects"][0]["line"] == 2
    assert report["counts"]["empty_titles"] == 1


def test_rows_trace_back_to_their_manifest_line(tmp_path):
    manifest = write_catalogue(tmp_path / "cat")
    result = ingest(_options(manifest, eval_per_class=2), tmp_path / "out")
    rows = _read_split(tmp_path / "out/Split-train")
    ids = {r[features.EXAMPLE_ID].numpy().decode() for r in rows}
    assert "manifest.jsonl:1" in ids or "manifest.jsonl:2" in ids
    assert result.counts["train"] + result.counts["validation"] + result.counts["eval"] == sum(COUNTS.values())
    assert [t.decode() for t in tf.sparse.to_dense(rows[0][features.TAGS]).numpy()][-1] == "colour"


def test_too_many_rejects_fails_but_writes_the_report(messy_manifest, tmp_path):
    with pytest.raises(IngestError, match="8 of 19 rows rejected .* over data.max_reject_ratio=0.1"):
        ingest(_options(messy_manifest, max_reject_ratio=0.1), tmp_path / "out")
    report = json.loads((tmp_path / "out/ingest_report.json").read_text())
    assert report["counts"]["rejected"] == 8
    assert not list((tmp_path / "out").glob("Split-*")) and not (tmp_path / "out/.partial").exists()


def test_nothing_valid_fails_clearly(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "nope.png", "label": "x"}\n')
    with pytest.raises(IngestError, match="no valid training rows"):
        ingest(_options(manifest), tmp_path / "out")


def test_eval_manifest_rejects_unknown_labels_and_leaked_duplicates(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 4, "green": 4})
    (tmp_path / "cat/images/purple.png").write_bytes(png_bytes((128, 0, 128)))
    (tmp_path / "cat/images/red_eval.png").write_bytes(png_bytes(COLOURS["red"], noise=40))
    eval_manifest = tmp_path / "cat/eval.csv"
    eval_manifest.write_text(
        "image,label,title,tags\n"
        "images/red_eval.png,red,a red one,x|y\n"
        "images/purple.png,purple,a purple one,\n"
        "images/red_0.png,red,seen in training,\n"
    )
    result = ingest(_options(manifest, eval_manifest=str(eval_manifest)), tmp_path / "out")
    reasons = {(r.source.endswith("csv"), r.line): r.reason for r in result.rejects}
    assert reasons[(True, 3)] == "unknown label 'purple': no training image has it"
    assert reasons[(True, 4)].startswith("exact duplicate of the image at")
    assert result.counts["train"] == 8 and result.counts["eval"] == 1
    (row,) = _read_split(tmp_path / "out/Split-eval")
    assert row[features.TITLE].numpy() == b"a red one"
    assert tf.sparse.to_dense(row[features.TAGS]).numpy().tolist() == [b"x", b"y"]


def test_validation_is_carved_per_class_from_what_training_keeps(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 20, "green": 10, "blue": 1})
    result = ingest(_options(manifest, eval_per_class=2, validation_per_class=5, validation_max_fraction=0.2),
                    tmp_path / "out")
    report = json.loads(result.report_path.read_text())
    # red: 2 to eval, then min(5, floor(18 * 0.2)) = 3 to validation; green: 2, then 1; blue stays.
    assert report["class_counts"]["red"] == {"train": 15, "validation": 3, "eval": 2}
    assert report["class_counts"]["green"] == {"train": 7, "validation": 1, "eval": 2}
    assert report["class_counts"]["blue"] == {"train": 1, "validation": 0, "eval": 0}
    ids = {split: {r[features.EXAMPLE_ID].numpy() for r in _read_split(tmp_path / "out" / f"Split-{split}")}
           for split in ("train", "validation", "eval")}
    assert not (ids["train"] & ids["validation"]) and not (ids["validation"] & ids["eval"])
    again = ingest(_options(manifest, eval_per_class=2), tmp_path / "again")
    assert {r[features.EXAMPLE_ID].numpy() for r in _read_split(tmp_path / "again/Split-validation")} == ids["validation"]


def test_validation_manifest_is_read_like_the_eval_manifest(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 4, "green": 4})
    (tmp_path / "cat/images/red_val.png").write_bytes(png_bytes(COLOURS["red"], noise=41))
    (tmp_path / "cat/images/grey.png").write_bytes(png_bytes((90, 90, 90)))
    validation = tmp_path / "cat/validation.jsonl"
    validation.write_text(
        '{"image": "images/red_val.png", "label": "red", "title": "another seller"}\n'
        '{"image": "images/grey.png", "label": "grey"}\n'
    )
    result = ingest(_options(manifest, validation_manifest=str(validation)), tmp_path / "out")
    assert [(r.line, r.reason) for r in result.rejects] == [(2, "unknown label 'grey': no training image has it")]
    (row,) = _read_split(tmp_path / "out/Split-validation")
    assert row[features.TITLE].numpy() == b"another seller"
    assert result.counts["validation"] == 1 and result.counts["train"] + result.counts["eval"] == 8


def test_a_held_out_manifest_of_another_data_set_is_a_clear_error(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 4, "green": 4})
    other = write_catalogue(tmp_path / "other", {"blue": 2})
    with pytest.raises(IngestError, match=r"data.validation_manifest .* shares no label with data.manifest .* or to null"):
        ingest(_options(manifest, validation_manifest=str(other)), tmp_path / "out")


def test_second_ingest_of_unchanged_inputs_is_skipped(tmp_path):
    manifest = write_catalogue(tmp_path / "cat", {"red": 3, "blue": 3})
    first = ingest(_options(manifest), tmp_path / "out")
    assert not first.skipped
    again = ingest(_options(manifest), tmp_path / "out")
    assert again.skipped and again.counts == first.counts
    (tmp_path / "cat/images/red_0.png").write_bytes(png_bytes(COLOURS["red"], noise=30))
    assert not ingest(_options(manifest), tmp_path / "out").skipped


def test_fingerprints_held_computes_once_per_manifest_state(tmp_path, monkeypatch):
    import components.ingest as ingest_module

    manifest = write_catalogue(tmp_path / "cat", {"red": 2})
    options = _options(manifest)
    before = ingest_module.input_fingerprint(options)
    stats = []
    monkeypatch.setattr(ingest_module, "read_manifest", lambda p: stats.append(p) or read_manifest(p))
    with ingest_module.fingerprints_held():
        assert ingest_module.input_fingerprint(options) == before
        (tmp_path / "cat/images/red_0.png").write_bytes(png_bytes(COLOURS["red"], noise=30))
        assert ingest_module.input_fingerprint(options) == before  # held: the images are not looked at again
        assert len(stats) == 1
        Path(manifest).write_text(Path(manifest).read_text() + "\n")  # the manifest changed: computed again
        assert ingest_module.input_fingerprint(options) != before and len(stats) == 2
    assert ingest_module.input_fingerprint(options) != before and len(stats) == 3  # outside: always computed
