"""A manifest row as a record of the ingest graph: checked in pass 1, encoded in pass 2."""

import hashlib
import io

import pytest
import tensorflow as tf
from PIL import Image

from components.ingest_pipeline import Checked, Meta, Record
from components.manifest import Reject
from components.manifest_source import ManifestSource
from tests.tiny_catalogue import png_bytes


@pytest.fixture()
def source(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes((200, 10, 10), noise=3))
    webp = io.BytesIO()
    Image.new("RGB", (9, 7), (40, 50, 60)).save(webp, "WEBP")
    (tmp_path / "b.webp").write_bytes(webp.getvalue())
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"image": "a.png", "label": "red", "title": "a  red   one", "sku": "r1", "tags": ["x"]}\n'
        '{"image": "b.webp", "label": "grey"}\n'
        '{"image": "c.png", "label": "red"}\n'
        '{"image": "gone.png", "label": "red"}\n'
        '{"label": "red"}\n')
    return ManifestSource.of({"train": str(manifest), "eval": None}), manifest


def test_inputs_are_the_given_manifests_only(source):
    src, manifest = source
    assert src.inputs() == [("train", str(manifest))]


def test_pass_one_keeps_metadata_not_images_and_rejects_with_the_line(source):
    src, manifest = source
    records = [r for c in src.chunks(("train", str(manifest))) for r in src.read(c)]
    assert [r.line for r in records] == [1, 2, 3, 4, 5] and {r.split for r in records} == {"train"}
    results = [src.check(r) for r in records]
    a, b = results[:2]
    assert isinstance(a, Checked) and a.label == "red" and not a.empty_title and len(a.digest) == 32
    # no image bytes: the digest is the only bytes field, and it is the image's sha256
    assert [v for v in a if isinstance(v, bytes)] == [a.digest]
    assert a.digest == hashlib.sha256((manifest.parent / "a.png").read_bytes()).digest()
    assert isinstance(b, Checked) and b.empty_title
    assert [(r.line, r.reason.split(" (")[0]) for r in results[2:]] == [
        (3, "not an image"), (4, "image file not found"), (5, "missing image path")]
    assert all(isinstance(r, Reject) for r in results[2:])


def test_pass_two_writes_the_example_and_converts_what_tensorflow_cannot_decode(source):
    src, manifest = source
    a, b = [r for c in src.chunks(("train", str(manifest))) for r in src.read(c)][:2]
    f = tf.train.Example.FromString(src.encode(a)).features.feature
    assert f["title"].bytes_list.value == [b"a red one"] and f["sku"].bytes_list.value == [b"r1"]
    assert f["example_id"].bytes_list.value == [b"m.jsonl:1"] and f["tags"].bytes_list.value == [b"x"]
    assert f["image"].bytes_list.value[0] == (manifest.parent / "a.png").read_bytes()  # unchanged
    webp = tf.train.Example.FromString(src.encode(b)).features.feature["image"].bytes_list.value[0]
    assert webp.startswith(b"\x89PNG") and tf.io.decode_png(webp).shape == (7, 9, 3)
    assert tf.train.Example.FromString(src.encode(b)).features.feature["sku"].bytes_list.value == [b"grey"]


def test_an_image_removed_between_the_passes_is_an_error_of_that_row(source):
    src, manifest = source
    a = [r for c in src.chunks(("train", str(manifest))) for r in src.read(c)][0]
    (manifest.parent / "a.png").unlink()
    with pytest.raises(OSError):
        src.encode(a)
    # A record and its pass-1 metadata carry one key: pass 2 finds pass 1's decision by it.
    assert Record("train", a.source, a.line, None).key == a.key
    paths = [path for _, path in src.inputs()]
    meta = Meta.of(Checked("train", a.source, a.line, "red", b"d", False), {p: i for i, p in enumerate(paths)})
    assert meta.key(paths) == a.key
    assert Record("train", a.source, a.line + 1, None).key != a.key


def test_a_manifest_of_a_few_thousand_rows_is_read_in_several_pieces(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(f'{{"image": "{i}.png", "label": "c{i % 9}", "title": "t"}}\n' for i in range(10_000)))
    src = ManifestSource.of({"train": str(manifest)})
    pieces = list(src.chunks(("train", str(manifest))))
    assert len(pieces) >= 8  # one 4 MiB piece before: a second Beam worker had nothing to read
    rows = [record.line for piece in pieces for record in src.read(piece)]
    assert rows == list(range(1, 10_001))
    assert len(list(ManifestSource(src.manifests, chunk_bytes=1 << 30).chunks(("train", str(manifest))))) == 1
