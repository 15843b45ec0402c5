"""Reading an image manifest: JSON Lines or CSV, one row per image.

Columns (the input contract):

    image   path of the image file, relative to the manifest's folder, or absolute
    label   class or SKU id (a string)
    title   free-text side information; may be empty or missing
    sku     optional product id (defaults to the label)
    tags    optional list of strings (in CSV: separated by '|')

Every row comes back as a :class:`ManifestRow` with its 1-based line number, or as a
:class:`Reject` that says which line and why. Bytes that are not UTF-8 are kept as
surrogate escapes while reading so that one bad title rejects one row, not the file.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Iterable, Iterator, TextIO

COLUMNS = ("image", "label", "title", "sku", "tags")


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    source: str  # the manifest file
    line: int  # 1-based line (JSONL) or record (CSV, header = line 1) number
    image_path: Path
    label: str
    title: str
    sku: str
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Reject:
    source: str
    line: int
    reason: str
    image: str | None = None
    # The split of the input the row came from (train, validation, eval), when known.
    split: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class ManifestError(ValueError):
    """The manifest as a whole cannot be read."""


def _has_bad_bytes(text: str) -> bool:
    # Lone surrogates U+DC80..U+DCFF stand for undecodable bytes (surrogateescape).
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _validate(source: str, base: Path, line: int, record: dict) -> ManifestRow | Reject:
    image = record.get("image")
    if not isinstance(image, str) or not image.strip():
        return Reject(source, line, "missing image path")
    if _has_bad_bytes(image):
        return Reject(source, line, "image path is not valid UTF-8")
    label = record.get("label")
    if isinstance(label, (int, float)) and not isinstance(label, bool):
        label = str(label)
    if not isinstance(label, str) or not label.strip():
        return Reject(source, line, "missing label", image)
    if _has_bad_bytes(label):
        return Reject(source, line, "label is not valid UTF-8", image)
    title = record.get("title")
    if title is None:
        title = ""
    if not isinstance(title, str):
        return Reject(source, line, f"title must be a string, got {type(title).__name__}", image)
    if _has_bad_bytes(title):
        return Reject(source, line, "title is not valid UTF-8", image)
    sku = record.get("sku")
    sku = label if sku in (None, "") else str(sku)
    tags = record.get("tags")
    if tags in (None, ""):
        tags = []
    elif isinstance(tags, str):
        tags = [t for t in tags.split("|") if t]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return Reject(source, line, "tags must be a list of strings", image)
    if any(_has_bad_bytes(t) for t in tags) or _has_bad_bytes(sku):
        return Reject(source, line, "sku or tags are not valid UTF-8", image)
    path = Path(image)
    if not path.is_absolute():
        path = base / path
    return ManifestRow(
        source=source,
        line=line,
        image_path=path,
        label=label.strip(),
        title=" ".join(title.split()),
        sku=sku.strip(),
        tags=tuple(t.strip() for t in tags),
    )


def _jsonl_records(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, dict | str]]:
    # Lines end at "\n" only (and "\r\n"): str.splitlines() would also split at U+2028,
    # U+2029 and U+0085, which JSON allows unescaped inside strings.
    for number, raw in enumerate(lines, start=first_line):
        raw = raw.removesuffix("\n").removesuffix("\r")
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            yield number, f"not valid JSON ({e.msg})"
            continue
        if not isinstance(record, dict):
            yield number, "not a JSON object"
            continue
        yield number, record


def _check_columns(names, what: str) -> None:
    missing = {"image", "label"} - set(names)
    if missing:
        raise ManifestError(f"{what} lacks the column(s): {', '.join(sorted(missing))}")


def _csv_records(f: TextIO) -> Iterator[tuple[int, dict | str]]:
    """The rows of an open CSV file (newline=""), streamed, each with the line it starts on."""
    first_nonblank: list[int | None] = [None]

    def lines():
        # The first non-blank line the reader takes for a record is the line the record
        # starts on (reader.line_num is where it ends: a quoted field may span lines;
        # blank lines before it are skipped by the reader).
        for number, line in enumerate(f, start=1):
            if first_nonblank[0] is None and line.strip():
                first_nonblank[0] = number
            yield line

    reader = csv.DictReader(lines())
    if reader.fieldnames is None:
        return
    _check_columns(reader.fieldnames, "CSV manifest")
    while True:
        first_nonblank[0] = None
        try:
            record = next(reader)
        except StopIteration:
            return
        number = first_nonblank[0]
        if None in record:
            yield number, "more fields than header columns"
            continue
        yield number, record


def check_manifest(path: str | Path) -> None:
    """Raises ManifestError when the manifest as a whole cannot be read (missing file, a
    CSV without the image or label column): before any Beam work starts."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    if not is_jsonl(path):
        with open(path, "rb") as f:
            header = f.readline().decode("utf-8-sig", errors="replace")
        if header.strip():
            _check_columns(next(csv.reader([header])), f"CSV manifest {path}")


def is_jsonl(path: str | Path) -> bool:
    return Path(path).suffix.lower() != ".csv"


MIN_PIECE_BYTES, MAX_PIECE_BYTES, TARGET_PIECES = 64 << 10, 4 << 20, 64


def piece_bytes(manifest_bytes: int) -> int:
    """How large the pieces of a JSON Lines manifest of that size are: about
    TARGET_PIECES of them, each between 64 KiB and 4 MiB. Enough pieces that every Beam
    worker gets some (a 1 MB manifest of 10k rows in one 4 MiB piece kept all but one
    worker idle), few enough that a manifest of 60M rows (~6 GB) is ~1,500 pieces."""
    return min(MAX_PIECE_BYTES, max(MIN_PIECE_BYTES, manifest_bytes // TARGET_PIECES))


def jsonl_chunks(path: str | Path, chunk_bytes: int = MAX_PIECE_BYTES) -> list[tuple[int, int, int]]:
    """(start byte, end byte, line number of the first line) of consecutive pieces of a
    JSON Lines manifest of about chunk_bytes each, cut after a newline: pieces that
    workers read in parallel with :func:`read_manifest_range`, with the rows' real
    line numbers. One sequential pass that only counts newlines."""
    cuts = [(0, 1)]
    with open(path, "rb") as f:
        position, line, next_cut = 0, 1, chunk_bytes
        while block := f.read(1 << 20):
            search_from = 0
            while next_cut < position + len(block):
                newline = block.find(b"\n", max(search_from, next_cut - position))
                if newline < 0:
                    next_cut = position + len(block)  # continue in the next block
                    break
                cuts.append((position + newline + 1, line + block.count(b"\n", 0, newline + 1)))
                next_cut = position + newline + 1 + chunk_bytes
                search_from = newline + 1
            line += block.count(b"\n")
            position += len(block)
    size = position
    bounds = [c for c in cuts if c[0] < size] or [(0, 1)]
    return [(start, end, first) for (start, first), (end, _) in zip(bounds, [*bounds[1:], (size, 0)])]


def read_manifest_range(path: str | Path, start: int, end: int, first_line: int) -> Iterator[ManifestRow | Reject]:
    """The rows of bytes [start, end) of a JSON Lines manifest (a piece of jsonl_chunks)."""
    path = Path(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    text = data.decode("utf-8-sig" if start == 0 else "utf-8", errors="surrogateescape")
    source = str(path)
    for line, record in _jsonl_records(text.split("\n"), first_line):
        if isinstance(record, str):
            yield Reject(source, line, record)
        else:
            yield _validate(source, path.parent, line, record)


def read_manifest(path: str | Path) -> Iterator[ManifestRow | Reject]:
    """Yields one ManifestRow or Reject per row of a .jsonl/.json or .csv manifest, read as
    a stream (a line, or a CSV record, at a time: nothing holds the whole manifest)."""
    path = Path(path)
    source = str(path)
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8" writes one) is not part of the
    # first column's name or the first JSON line.
    is_csv = path.suffix.lower() == ".csv"
    try:
        # JSON Lines: lines end at "\n" only (a "\r\n" keeps its "\r", removed per line).
        # CSV: the csv module's own line handling (newline="").
        f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="" if is_csv else "\n")
    except FileNotFoundError:
        raise ManifestError(f"manifest not found: {path}") from None
    with f:
        records = _csv_records(f) if is_csv else _jsonl_records(f)
        for line, record in records:
            if isinstance(record, str):
                yield Reject(source, line, record)
            else:
                yield _validate(source, path.parent, line, record)
