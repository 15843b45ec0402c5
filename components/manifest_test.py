"""Reading manifests: every row is a ManifestRow or a Reject naming its line and reason."""

import json
import re
from pathlib import Path

import pytest

from components.manifest import ManifestError, ManifestRow, Reject, read_manifest


def write_jsonl(path: Path, lines: list) -> Path:
    """lines: dicts (written as JSON), str or bytes (written as they are)."""
    out = []
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        out.append(line if isinstance(line, bytes) else line.encode("utf-8"))
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def only(path) -> ManifestRow | Reject:
    (item,) = list(read_manifest(path))
    return item


def test_a_full_jsonl_row(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"image": "img/a.png", "label": " SKU-1 ", "title": "  red \t running\nshoe ", "sku": "p-9",
         "tags": [" shoe", "red "]},
    ])
    assert only(manifest) == ManifestRow(
        source=str(manifest), line=1, image_path=tmp_path / "img/a.png", label="SKU-1",
        title="red running shoe", sku="p-9", tags=("shoe", "red"))


def test_defaults_for_the_optional_columns(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"image": "a.png", "label": "x"},
        {"image": "b.png", "label": "y", "title": None, "sku": "", "tags": ""},
        {"image": "c.png", "label": "z", "sku": None, "tags": None},
    ])
    rows = list(read_manifest(manifest))
    assert [(r.label, r.title, r.sku, r.tags) for r in rows] == [
        ("x", "", "x", ()), ("y", "", "y", ()), ("z", "", "z", ())]


def test_absolute_image_paths_are_kept_relative_ones_follow_the_manifest(tmp_path):
    (tmp_path / "sub").mkdir()
    elsewhere = tmp_path / "elsewhere" / "b.png"
    manifest = write_jsonl(tmp_path / "sub" / "m.jsonl", [
        {"image": "a.png", "label": "x"}, {"image": str(elsewhere), "label": "x"}])
    assert [r.image_path for r in read_manifest(manifest)] == [tmp_path / "sub" / "a.png", elsewhere]


def test_numeric_label_and_sku_become_strings_but_a_boolean_label_is_missing(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"image": "a.png", "label": 7, "sku": 123},
        {"image": "b.png", "label": 2.5},
        {"image": "c.png", "label": True},
    ])
    a, b, c = read_manifest(manifest)
    assert (a.label, a.sku) == ("7", "123")
    assert (b.label, b.sku) == ("2.5", "2.5")
    assert c == Reject(str(manifest), 3, "missing label", "c.png")


def test_tags_written_as_a_string_are_split_on_the_bar(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [{"image": "a.png", "label": "x", "tags": "a| b||c|"}])
    assert only(manifest).tags == ("a", "b", "c")


@pytest.mark.parametrize("record, reason", [
    ({"label": "x"}, "missing image path"),
    ({"image": "   ", "label": "x"}, "missing image path"),
    ({"image": 5, "label": "x"}, "missing image path"),
    ({"image": "a.png"}, "missing label"),
    ({"image": "a.png", "label": "  "}, "missing label"),
    ({"image": "a.png", "label": ["x"]}, "missing label"),
    ({"image": "a.png", "label": "x", "title": 5}, "title must be a string, got int"),
    ({"image": "a.png", "label": "x", "title": ["a"]}, "title must be a string, got list"),
    ({"image": "a.png", "label": "x", "tags": [1, "a"]}, "tags must be a list of strings"),
    ({"image": "a.png", "label": "x", "tags": {"a": 1}}, "tags must be a list of strings"),
])
def test_each_bad_field_is_rejected_with_its_reason(tmp_path, record, reason):
    manifest = write_jsonl(tmp_path / "m.jsonl", [{"image": "ok.png", "label": "ok"}, record])
    good, bad = read_manifest(manifest)
    assert isinstance(good, ManifestRow)
    image = record.get("image") if reason != "missing image path" else None
    assert bad == Reject(str(manifest), 2, reason, image)


def test_lines_that_are_not_json_objects(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        '{"image": "a.png", "label": ', "[1, 2]", '"just a string"', {"image": "b.png", "label": "x"}])
    items = list(read_manifest(manifest))
    assert [(i.line, getattr(i, "reason", None)) for i in items] == [
        (1, "not valid JSON (Expecting value)"),
        (2, "not a JSON object"),
        (3, "not a JSON object"),
        (4, None),
    ]


def test_blank_lines_are_skipped_but_counted(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('\n{"image": "a.png", "label": "x"}\n   \n\r\n{"image": "b.png", "label": "y"}\n')
    assert [(r.line, r.label) for r in read_manifest(manifest)] == [(2, "x"), (5, "y")]


def test_windows_line_endings(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(b'{"image": "a.png", "label": "x"}\r\n{"image": "b.png", "label": "y"}\r\n')
    assert [(r.line, r.label, r.image_path.name) for r in read_manifest(manifest)] == [
        (1, "x", "a.png"), (2, "y", "b.png")]


@pytest.mark.parametrize("line, reason, image", [
    (b'{"image": "caf\xe9.png", "label": "x"}', "image path is not valid UTF-8", None),
    (b'{"image": "a.png", "label": "caf\xe9"}', "label is not valid UTF-8", "a.png"),
    (b'{"image": "a.png", "label": "x", "title": "caf\xe9 au lait"}', "title is not valid UTF-8", "a.png"),
    (b'{"image": "a.png", "label": "x", "sku": "s\xff"}', "sku or tags are not valid UTF-8", "a.png"),
    (b'{"image": "a.png", "label": "x", "tags": ["ok", "t\xff"]}', "sku or tags are not valid UTF-8", "a.png"),
])
def test_bytes_that_are_not_utf8_reject_one_row_not_the_file(tmp_path, line, reason, image):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"image": "before.png", "label": "x", "title": "caf\u00e9 ok"}, line, {"image": "after.png", "label": "y"}])
    before, bad, after = read_manifest(manifest)
    assert before.title == "caf\u00e9 ok"
    assert bad == Reject(str(manifest), 2, reason, image)
    assert (after.line, after.image_path.name) == (3, "after.png")


def test_json_suffix_is_read_as_json_lines(tmp_path):
    manifest = write_jsonl(tmp_path / "m.json", [{"image": "a.png", "label": "x"}])
    assert only(manifest).label == "x"


def test_csv_rows_are_numbered_with_the_header_as_line_1(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "image,label,title,sku,tags\n"
        "a.png, x ,red  shoe,,a|b\n"
        'b.png,y,"blue, suede",s-2,\n'
        "c.png,,no label,,\n",
        encoding="utf-8",
    )
    a, b, c = read_manifest(manifest)
    assert a == ManifestRow(str(manifest), 2, tmp_path / "a.png", "x", "red shoe", "x", ("a", "b"))
    assert b == ManifestRow(str(manifest), 3, tmp_path / "b.png", "y", "blue, suede", "s-2", ())
    assert c == Reject(str(manifest), 4, "missing label", "c.png")


def test_csv_with_only_the_required_columns_and_short_rows(tmp_path):
    manifest = tmp_path / "m.CSV"  # the suffix is matched case-insensitively
    manifest.write_text("label,image\nx,a.png\ny\n")
    a, b = read_manifest(manifest)
    assert (a.line, a.label, a.image_path.name, a.title, a.sku, a.tags) == (2, "x", "a.png", "", "x", ())
    assert b == Reject(str(manifest), 3, "missing image path")


def test_csv_row_with_more_fields_than_the_header(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("image,label\na.png,x,extra\nb.png,y\n")
    bad, good = read_manifest(manifest)
    assert bad == Reject(str(manifest), 2, "more fields than header columns")
    assert (good.line, good.label) == (3, "y")


@pytest.mark.parametrize("header, missing", [
    ("image,title", "label"), ("label,title", "image"), ("path,class", "image, label")])
def test_csv_without_a_required_column_fails_as_a_whole(tmp_path, header, missing):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"{header}\na,b\n")
    with pytest.raises(ManifestError, match=rf"^CSV manifest lacks the column\(s\): {missing}$"):
        list(read_manifest(manifest))


def test_csv_with_bad_bytes_rejects_the_row(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(b"image,label,title\na.png,x,caf\xe9\nb.png,y,ok\n")
    bad, good = read_manifest(manifest)
    assert bad == Reject(str(manifest), 2, "title is not valid UTF-8", "a.png")
    assert good.title == "ok"


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_an_empty_manifest_has_no_rows(tmp_path, name):
    (tmp_path / name).write_text("")
    assert list(read_manifest(tmp_path / name)) == []


def test_a_missing_manifest_names_the_path(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(ManifestError, match=rf"^manifest not found: {re.escape(str(path))}$"):
        list(read_manifest(path))


def test_reject_to_dict():
    assert Reject("m.csv", 4, "missing label", "a.png").to_dict() == {
        "source": "m.csv", "line": 4, "reason": "missing label", "image": "a.png", "split": None}
    assert Reject("m.csv", 4, "missing label", split="eval").to_dict()["split"] == "eval"


def test_jsonl_line_separators_inside_strings_do_not_split_rows(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"")
    manifest = tmp_path / "m.jsonl"
    rows = [{"image": "a.png", "label": "x", "title": "line\u2028sep\u0085next"}, {"image": "b.png", "label": "y"}]
    manifest.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = list(read_manifest(manifest))
    assert [type(r).__name__ for r in out] == ["ManifestRow", "ManifestRow"]
    assert [r.line for r in out] == [1, 2] and [r.label for r in out] == ["x", "y"]


def test_a_byte_order_mark_is_not_part_of_the_first_column_or_line(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    csv_manifest = tmp_path / "m.csv"
    csv_manifest.write_bytes("\ufeffimage,label\na.png,x\n".encode("utf-8"))
    jsonl_manifest = tmp_path / "m.jsonl"
    jsonl_manifest.write_bytes(("\ufeff" + json.dumps({"image": "a.png", "label": "x"}) + "\n").encode("utf-8"))
    for manifest in (csv_manifest, jsonl_manifest):
        (row,) = read_manifest(manifest)
        assert (type(row).__name__, row.label) == ("ManifestRow", "x"), manifest


def test_csv_rows_are_numbered_by_the_line_they_start_on(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    manifest = tmp_path / "m.csv"
    manifest.write_text('image,label,title\na.png,x,"two\nlines"\n\na.png,,t\n', encoding="utf-8")
    out = list(read_manifest(manifest))
    assert [r.line for r in out] == [2, 5]
    assert type(out[1]).__name__ == "Reject"


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_a_manifest_is_streamed_not_read_whole(tmp_path, monkeypatch, name):
    (tmp_path / "a.png").write_bytes(b"")
    rows = [{"image": "a.png", "label": f"c{i}", "title": "two\nlines" if i == 3 else "t"} for i in range(2000)]
    manifest = tmp_path / name
    if name.endswith(".csv"):
        manifest.write_text("image,label,title\n" + "".join(f'{r["image"]},{r["label"]},"{r["title"]}"\n' for r in rows))
    else:
        write_jsonl(manifest, rows)
    for whole in ("read_bytes", "read_text"):
        monkeypatch.setattr(Path, whole, lambda *a, **k: pytest.fail("the whole manifest was read at once"))
    read = read_manifest(manifest)
    first = next(read)
    f = read.gi_frame.f_locals["f"]
    assert first.label == "c0" and f.buffer.raw.tell() < manifest.stat().st_size / 2  # a buffer in, not all
    out = [first, *read]
    assert [r.label for r in out] == [f"c{i}" for i in range(2000)]
    offset = 1 if name.endswith(".csv") else 0  # the header; row 3's title spans two CSV lines
    assert [r.line for r in out[:6]] == [i + 1 + offset + (i > 3 and name.endswith(".csv")) for i in range(6)]


def test_jsonl_pieces_cover_every_row_once_with_its_line_number(tmp_path):
    from components.manifest import jsonl_chunks, read_manifest_range

    manifest = tmp_path / "m.jsonl"
    rows = [json.dumps({"image": f"{i}.png", "label": "x", "title": "caf\u00e9 \u2028 " * (i % 7)}) for i in range(500)]
    rows[10] = "{not json"
    rows.insert(20, "")  # a blank line
    manifest.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode() + b"\n")
    whole = list(read_manifest(manifest))
    for chunk_bytes in (1, 100, 1000, 10 ** 6):
        pieces = jsonl_chunks(manifest, chunk_bytes)
        assert pieces[0][0] == 0 and pieces[-1][1] == manifest.stat().st_size
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        got = [row for start, end, first in pieces for row in read_manifest_range(manifest, start, end, first)]
        assert got == whole, chunk_bytes
    assert len(jsonl_chunks(manifest, 1000)) > 10 and len(jsonl_chunks(manifest, 10 ** 6)) == 1


def test_check_manifest_refuses_a_missing_file_or_a_csv_without_its_columns(tmp_path):
    from components.manifest import ManifestError, check_manifest

    with pytest.raises(ManifestError, match="manifest not found"):
        check_manifest(tmp_path / "none.jsonl")
    bad = tmp_path / "m.csv"
    bad.write_text("picture,label\na.png,x\n")
    with pytest.raises(ManifestError, match="lacks the column\\(s\\): image"):
        check_manifest(bad)
    good = tmp_path / "g.csv"
    good.write_bytes(b"\xef\xbb\xbfimage,label,title\na.png,x,\n")
    check_manifest(good)


def test_piece_size_gives_every_worker_pieces_of_a_small_manifest_and_bounds_a_large_one():
    from components.manifest import MAX_PIECE_BYTES, MIN_PIECE_BYTES, piece_bytes

    ten_thousand_rows = 1_074_161  # the 10k-row manifest of bench/ingest_scaling.py
    assert ten_thousand_rows // piece_bytes(ten_thousand_rows) >= 16  # was 0: one 4 MiB piece, one busy worker
    assert piece_bytes(100) == MIN_PIECE_BYTES  # a tiny manifest: one piece, no 1-byte pieces
    assert piece_bytes(6 << 30) == MAX_PIECE_BYTES  # 60M rows: ~1,500 pieces, not millions
    assert MIN_PIECE_BYTES <= piece_bytes(50 << 20) <= MAX_PIECE_BYTES
