"""The database layer under the product index, on SQLite files in tmp_path (the
PostgreSQL backend's rebuilds and reads are checked in serving/product_index_test.py)."""

import os
import threading

import pytest

from serving.index_database import (
    IndexUnavailable,
    PostgresDatabase,
    SQLiteDatabase,
    is_postgres_url,
    open_database,
)
from sicot.config import ConfigError
from tests.background_server import free_port

SCHEMA = "sku TEXT PRIMARY KEY, title TEXT, n INTEGER"
COLUMNS = ("sku", "title", "n")
ROWS = [("a", "Apple", 1), ("b", "Bag", 2), ("c", "Cup", 3)]


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "idx" / "products.sqlite"), "products")
    database.replace_table(SCHEMA, COLUMNS, ROWS)
    return database


def test_the_url_picks_the_backend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("postgresql://u@host/db", "postgres://u@host/db"):
        assert isinstance(open_database(url), PostgresDatabase) and is_postgres_url(url)
    relative = open_database("sqlite:///rel/products.db")
    assert isinstance(relative, SQLiteDatabase) and relative.path == tmp_path / "rel" / "products.db"
    assert open_database("sqlite:////abs/products.db").path.as_posix() == "/abs/products.db"
    plain = open_database("plain.sqlite", "t")
    assert plain.path == tmp_path / "plain.sqlite" and plain.path.is_absolute()
    assert plain.table == "t" and open_database("x.sqlite").table == "sicot_products"
    assert plain.location == f"SQLite file {tmp_path / 'plain.sqlite'}"
    assert not is_postgres_url("postgresqlx://h/db") and not is_postgres_url("sqlite:///x.db")


def test_a_postgres_location_hides_the_password():
    database = open_database("postgresql://sicot:s3cret@db.example:5432/shop", "items")
    assert database.location == "PostgreSQL postgresql://sicot:***@db.example:5432/shop table items"
    assert open_database("postgres://sicot@db/shop").location == "PostgreSQL postgres://sicot@db/shop table sicot_products"


@pytest.mark.parametrize("table", ["1abc", "a-b", "a b", "products; DROP TABLE x", "", "x" * 52, "tbl\n"])
def test_tables_that_are_not_plain_identifiers_are_refused(table):
    message = f"index.table '{table}' is not a plain SQL identifier (letters, digits, _)"
    with pytest.raises(ConfigError) as sqlite_error:
        open_database("x.sqlite", table)
    with pytest.raises(ConfigError) as postgres_error:
        open_database("postgresql://h/db", table)
    assert str(sqlite_error.value) == str(postgres_error.value) == message


@pytest.mark.parametrize("table", ["_", "a", "Products_2", "x" * 51])
def test_plain_identifiers_up_to_51_characters_are_accepted(table):
    assert open_database("x.sqlite", table).table == table


def test_select_returns_the_asked_columns_of_the_matching_rows(db):
    assert db.count() == 3
    assert sorted(db.select_where_in(["n", "sku"], "sku", ["c", "zzz", "a"])) == [(1, "a"), (3, "c")]
    assert db.select_where_in(["title"], "n", [2]) == [("Bag",)]
    assert db.select_where_in(COLUMNS, "sku", []) == []
    assert db.select_where_in(COLUMNS, "sku", ["nope"]) == []


def test_a_rebuild_replaces_the_whole_table_and_a_reader_sees_it(db):
    before = os.stat(db.path).st_ino
    assert db.count() == 3  # this thread's reader now holds the old file open
    db.replace_table(SCHEMA, COLUMNS, [("z", "Zed", 26)])
    assert os.stat(db.path).st_ino != before  # a new file, put in place by os.replace
    assert db.count() == 1
    assert db.select_where_in(COLUMNS, "sku", ["a", "z"]) == [("z", "Zed", 26)]
    # A reader opened on the old file in another database object sees the new one too.
    other = open_database(str(db.path), "products")
    assert other.count() == 1
    db.replace_table(SCHEMA, COLUMNS, iter([("y", "Yak", 25), ("x", "Xylophone", 24)]))  # rows may be an iterator
    assert other.count() == 2 and sorted(other.select_where_in(["sku"], "n", [24, 25])) == [("x",), ("y",)]


def test_each_thread_reads_through_its_own_connection(db):
    results, errors = [], []

    def read():
        try:
            results.append((db.count(), db.select_where_in(["title"], "sku", ["b"])))
        except Exception as e:  # sqlite3 refuses a connection made in another thread
            errors.append(e)

    assert db.count() == 3
    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [(3, [("Bag",)])] * 3


def test_a_failed_rebuild_keeps_the_old_index_and_leaves_no_temporary_file(db):
    directory = db.path.parent
    with pytest.raises(Exception):
        db.replace_table(SCHEMA, COLUMNS, [("d", "Dup", 4), ("d", "Dup again", 5)])  # primary key clash
    with pytest.raises(Exception):
        db.replace_table("sku TEXT, title TEXT, n", COLUMNS, [("only two", "values")])  # wrong row width
    assert sorted(p.name for p in directory.iterdir()) == ["products.sqlite"]
    assert db.count() == 3 and db.select_where_in(["title"], "sku", ["a"]) == [("Apple",)]


def test_the_first_build_makes_the_folders(tmp_path):
    database = open_database(str(tmp_path / "deep" / "er" / "index.sqlite"), "t")
    database.replace_table("k TEXT", ["k"], [("one",), ("two",)])
    assert database.count() == 2
    assert [p.name for p in (tmp_path / "deep" / "er").iterdir()] == ["index.sqlite"]


def test_reading_before_any_build_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "absent.sqlite"
    database = open_database(str(path), "t")
    message = f"no product index at {path}: run `sicot index build` first"
    with pytest.raises(IndexUnavailable) as counted:
        database.count()
    with pytest.raises(IndexUnavailable) as selected:
        database.select_where_in(["k"], "k", ["x"])
    assert str(counted.value) == str(selected.value) == message
    assert not path.exists()  # reading never creates the file


def test_an_unreachable_postgres_is_index_unavailable_without_the_password():
    port = free_port()  # nothing listens there
    database = open_database(f"postgresql://sicot:s3cret@127.0.0.1:{port}/shop", "items")
    with pytest.raises(IndexUnavailable) as info:
        database.count()
    message = str(info.value)
    assert message.startswith(f"cannot connect to PostgreSQL postgresql://sicot:***@127.0.0.1:{port}/shop table items: ")
    assert "s3cret" not in message
    with pytest.raises(IndexUnavailable, match="cannot connect to PostgreSQL"):
        database.replace_table("k TEXT", ["k"], [("a",)])
