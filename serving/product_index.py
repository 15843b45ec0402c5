"""The product index: SKU id -> title, tags and images, the lookup behind each answer.

The model's classes are SKUs: a manifest row's ``label`` is the SKU id the model
predicts, so the index is keyed by it. A catalogue may have several rows (images) per
SKU; the index keeps one product per SKU:

    title     the first non-empty title in catalogue order
    tags      the union of the rows' tags, in first-seen order
    images    every row's image path, in catalogue order
    item_ids  the distinct values of the rows' ``sku`` column (item ids within the
              SKU; the column defaults to the label)

``build_index`` replaces the whole index atomically (see serving/index_database.py):
a reader sees the old index or the new one, never part of one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, Sequence

from components.manifest import ManifestRow, Reject, read_manifest
from serving.index_database import IndexDatabase, open_database


@dataclasses.dataclass(frozen=True)
class Product:
    sku: str
    title: str
    tags: tuple[str, ...]
    images: tuple[str, ...]
    item_ids: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "sku": self.sku,
            "title": self.title,
            "tags": list(self.tags),
            "images": list(self.images),
            "item_ids": list(self.item_ids),
        }


@dataclasses.dataclass
class CatalogueRead:
    products: list[Product]
    rows: int
    rejects: list[Reject]


def products_from_rows(rows: Iterable[ManifestRow]) -> list[Product]:
    """One Product per label, merged as the module docstring says, in first-seen order."""
    merged: dict[str, dict] = {}
    for row in rows:
        entry = merged.setdefault(row.label, {"title": "", "tags": {}, "images": [], "item_ids": {}})
        if not entry["title"] and row.title:
            entry["title"] = row.title
        entry["tags"].update(dict.fromkeys(t for t in row.tags if t))
        entry["images"].append(str(row.image_path))
        entry["item_ids"][row.sku] = None
    return [
        Product(sku, e["title"], tuple(e["tags"]), tuple(e["images"]), tuple(e["item_ids"]))
        for sku, e in merged.items()
    ]


def read_catalogue(path: str | Path) -> CatalogueRead:
    """The products of a manifest / catalogue file; rows it cannot use are listed as rejects."""
    rows, rejects, total = [], [], 0
    for item in read_manifest(path):
        total += 1
        (rejects if isinstance(item, Reject) else rows).append(item)
    return CatalogueRead(products_from_rows(rows), total, rejects)


_COLUMNS = ("sku", "title", "tags", "images", "item_ids")


def _row(product: Product) -> tuple:
    return (
        product.sku,
        product.title,
        json.dumps(list(product.tags), ensure_ascii=False),
        json.dumps(list(product.images), ensure_ascii=False),
        json.dumps(list(product.item_ids), ensure_ascii=False),
    )


def _product(row: Sequence) -> Product:
    sku, title, tags, images, item_ids = row
    return Product(sku, title, tuple(json.loads(tags)), tuple(json.loads(images)), tuple(json.loads(item_ids)))


class ProductIndex:
    """Reads and rebuilds the index in one database (SQLite file or PostgreSQL)."""

    def __init__(self, database: IndexDatabase):
        self.database = database

    @classmethod
    def open(cls, url: str, table: str = "sicot_products") -> "ProductIndex":
        return cls(open_database(url, table))

    @property
    def location(self) -> str:
        return self.database.location

    def rebuild(self, products: Sequence[Product]) -> int:
        """Replaces the whole index by ``products`` (atomically); returns their number."""
        schema = (
            "sku TEXT PRIMARY KEY, title TEXT NOT NULL, tags TEXT NOT NULL, "
            "images TEXT NOT NULL, item_ids TEXT NOT NULL"
        )
        self.database.replace_table(schema, _COLUMNS, [_row(p) for p in products])
        return len(products)

    def lookup(self, skus: Sequence[str]) -> dict[str, Product]:
        """The products of the SKUs that are in the index (absent ones are left out)."""
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        rows = self.database.select_where_in(_COLUMNS, "sku", wanted)
        return {row[0]: _product(row) for row in rows}

    def get(self, sku: str) -> Product | None:
        return self.lookup([sku]).get(sku)

    def count(self) -> int:
        return self.database.count()


def build_index(catalogue: str | Path, url: str, table: str = "sicot_products") -> tuple[ProductIndex, CatalogueRead]:
    read = read_catalogue(catalogue)
    index = ProductIndex.open(url, table)
    index.rebuild(read.products)
    return index, read
