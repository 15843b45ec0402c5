import json
import threading

import pytest

from serving.index_database import IndexUnavailable
from serving.product_index import Product, ProductIndex, build_index, read_catalogue
from cli.main import main

ROWS = [
    {"image": "a1.png", "label": "sku-a", "title": "", "sku": "a-1", "tags": ["shoe"]},
    {"image": "a2.png", "label": "sku-a", "title": "Red running shoe", "sku": "a-2", "tags": ["shoe", "red"]},
    {"image": "b1.png", "label": "sku-b", "title": "Blue mug", "tags": ["mug"]},
    {"image": "a3.png", "label": "sku-a", "title": "Another title", "sku": "a-1", "tags": ["sale"]},
    {"image": "", "label": "sku-c", "title": "no image path"},
]


@pytest.fixture
def catalogue(tmp_path):
    path = tmp_path / "catalogue.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_several_rows_of_a_sku_merge_into_one_product(catalogue):
    read = read_catalogue(catalogue)
    assert read.rows == 5 and [r.line for r in read.rejects] == [5]
    a, b = read.products
    assert a.sku == "sku-a"
    assert a.title == "Red running shoe"  # the first non-empty title
    assert a.tags == ("shoe", "red", "sale")  # union, first seen first
    assert [p.rsplit("/", 1)[-1] for p in a.images] == ["a1.png", "a2.png", "a3.png"]
    assert a.item_ids == ("a-1", "a-2")
    assert (b.sku, b.title, b.tags, b.item_ids) == ("sku-b", "Blue mug", ("mug",), ("sku-b",))


def test_csv_catalogue_reads_the_same(tmp_path, catalogue):
    csv_path = tmp_path / "catalogue.csv"
    lines = ["image,label,title,sku,tags"] + [
        f"{r['image']},{r['label']},{r['title']},{r.get('sku', '')},{'|'.join(r.get('tags', []))}" for r in ROWS
    ]
    csv_path.write_text("\n".join(lines) + "\n")
    assert read_catalogue(csv_path).products == read_catalogue(catalogue).products


@pytest.fixture(params=["sqlite", "postgresql"])
def index_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "index" / "products.sqlite")
    return request.getfixturevalue("postgres_url")


def _table(request) -> str:
    return "t_" + "".join(c for c in request.node.name if c.isalnum())[-40:].lower()


def test_build_then_look_up(index_url, catalogue, request):
    index, _ = build_index(catalogue, index_url, _table(request))
    assert index.count() == 2
    found = index.lookup(["sku-b", "nope", "sku-a", "sku-b"])
    assert set(found) == {"sku-a", "sku-b"}
    assert found["sku-a"] == read_catalogue(catalogue).products[0]
    assert index.get("nope") is None
    # A second build replaces the index as a whole.
    index.rebuild([Product("sku-z", "Zed", ("z",), ("z.png",), ("z",))])
    assert index.count() == 1 and index.get("sku-a") is None and index.get("sku-z").title == "Zed"


def test_reading_before_any_build_says_to_build(index_url, request):
    index = ProductIndex.open(index_url, _table(request))
    with pytest.raises(IndexUnavailable, match="run `sicot index build` first"):
        index.get("x")


def _products(version: str, n: int) -> list[Product]:
    return [Product(f"sku-{i}", f"title {version}", (version,), (), ()) for i in range(n)]


def test_a_concurrent_reader_never_sees_half_an_index(index_url, request):
    """Readers during rebuilds see all n products of one version, never a mix or a part."""
    index = ProductIndex.open(index_url, _table(request))
    n = 2000
    index.rebuild(_products("v0", n))
    stop = threading.Event()
    seen, problems = [], []
    skus = [f"sku-{i}" for i in range(0, n, 50)] + [f"sku-{n - 1}"]

    def read():
        reader = ProductIndex.open(index_url, index.database.table)
        while not stop.is_set():
            found = reader.lookup(skus)
            versions = {p.title for p in found.values()}
            if len(found) != len(skus) or len(versions) != 1:
                problems.append((len(found), versions))
            seen.append(versions.pop() if versions else None)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for version in range(1, 7):
            index.rebuild(_products(f"v{version}", n))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not problems
    assert len(set(seen)) >= 2  # the readers did run across rebuilds
    assert index.count() == n and index.get("sku-0").title == "title v6"


def test_postgres_rebuild_leaves_no_side_tables(postgres_url):
    import psycopg

    index = ProductIndex.open(postgres_url, "side_tables")
    index.rebuild(_products("a", 3))
    index.rebuild(_products("b", 3))
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'side_tables%'")}
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'side_tables'")}
    assert tables == {"side_tables"} and indexes == {"side_tables_pkey"}


def test_a_bad_table_name_is_refused():
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        ProductIndex.open("x.sqlite", "products; DROP TABLE x")


def test_sicot_index_build_and_show(tmp_path, catalogue, capsys):
    url = str(tmp_path / "cli.sqlite")
    assert main(["index", "build", "--catalogue", str(catalogue), "--url", url]) == 0
    out = capsys.readouterr().out
    assert "index: 2 SKUs from 5 catalogue rows (1 rows skipped)" in out
    assert f"{catalogue}:5: missing image path" in out
    assert main(["index", "show", "sku-a", "--url", url]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Red running shoe"
    assert main(["index", "show", "sku-x", "--url", url]) == 1
    assert "unknown SKU 'sku-x'" in capsys.readouterr().err
    assert main(["index", "show", "sku-a", "--url", str(tmp_path / "absent.sqlite")]) == 2
    assert "no product index at" in capsys.readouterr().err
