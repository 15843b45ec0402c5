"""The one database layer under the product index: a SQLite file or PostgreSQL.

``open_database(url, table)`` picks the backend from the URL: ``postgresql://...`` (or
``postgres://``) is PostgreSQL through psycopg 3; anything else is a SQLite file path
(optionally ``sqlite:///path``), Python's sqlite3, no server.

Both offer the same three operations, and both make a rebuild atomic:

- SQLite: the new index is written to a temporary file beside the old one, then
  ``os.replace`` puts it in place; a reader reopens the file when its inode changed,
  so it reads the old file or the new one, whole.
- PostgreSQL: one transaction creates and fills ``<table>_new``, renames the old table
  away, renames the new one to ``<table>`` and drops the old; readers keep seeing the
  old table until the commit, then the new one.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Iterable, Sequence

from sicot.config import ConfigError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,50}")


class IndexUnavailable(RuntimeError):
    """The index cannot be read: no index built yet, or the database is unreachable."""


class IndexDatabase:
    location: str
    table: str

    def replace_table(self, schema: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        raise NotImplementedError

    def select_where_in(self, columns: Sequence[str], key: str, values: Sequence[str]) -> list[tuple]:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ConfigError(f"index.table '{name}' is not a plain SQL identifier (letters, digits, _)")
    return name


class SQLiteDatabase(IndexDatabase):
    def __init__(self, path: str | Path, table: str):
        self.path = Path(path).absolute()
        self.table = _check_identifier(table)
        self.location = f"SQLite file {self.path}"
        self._local = threading.local()

    @contextlib.contextmanager
    def _reader(self):
        """A read-only connection to the current file: each thread keeps one and opens
        the file afresh when a rebuild has replaced it (another inode)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise IndexUnavailable(f"no product index at {self.path}: run `sicot index build` first") from None
        key = (st.st_dev, st.st_ino)
        cached = getattr(self._local, "reader", None)
        if cached is None or cached[0] != key:
            if cached is not None:
                cached[1].close()
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            cached = self._local.reader = (key, conn)
        yield cached[1]

    def replace_table(self, schema, columns, rows):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            conn = sqlite3.connect(tmp)
            try:
                conn.execute(f"CREATE TABLE {self.table} ({schema})")
                marks = ", ".join("?" for _ in columns)
                conn.executemany(f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({marks})", rows)
                conn.commit()
            finally:
                conn.close()
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def select_where_in(self, columns, key, values):
        marks = ", ".join("?" for _ in values)
        with self._reader() as conn:
            return conn.execute(
                f"SELECT {', '.join(columns)} FROM {self.table} WHERE {key} IN ({marks})", list(values)
            ).fetchall()

    def count(self):
        with self._reader() as conn:
            return conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]


class PostgresDatabase(IndexDatabase):
    def __init__(self, url: str, table: str):
        self.url = url
        self.table = _check_identifier(table)
        self.location = f"PostgreSQL {_without_password(url)} table {table}"
        self._local = threading.local()  # one reading connection per thread

    def _connect(self, autocommit: bool):
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=autocommit, connect_timeout=10)
        except psycopg.OperationalError as e:
            raise IndexUnavailable(f"cannot connect to {self.location}: {e}".strip()) from None

    def _read(self, query: str, params: Sequence = ()) -> list[tuple]:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect(autocommit=True)
        try:
            return conn.execute(query, params).fetchall()
        except psycopg.errors.UndefinedTable:
            raise IndexUnavailable(f"no product index in {self.location}: run `sicot index build` first") from None
        except psycopg.OperationalError as e:
            conn.close()
            raise IndexUnavailable(f"lost the connection to {self.location}: {e}".strip()) from None

    def replace_table(self, schema, columns, rows):
        t = self.table
        with self._connect(autocommit=False) as conn:  # commits on a clean exit
            conn.execute(f"DROP TABLE IF EXISTS {t}_new")
            conn.execute(f"CREATE TABLE {t}_new ({schema})")
            with conn.cursor().copy(f"COPY {t}_new ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.execute(f"DROP TABLE IF EXISTS {t}_old")
            conn.execute(f"ALTER TABLE IF EXISTS {t} RENAME TO {t}_old")
            conn.execute(f"ALTER TABLE {t}_new RENAME TO {t}")
            conn.execute(f"DROP TABLE IF EXISTS {t}_old")
            conn.execute(f"ALTER INDEX IF EXISTS {t}_new_pkey RENAME TO {t}_pkey")

    def select_where_in(self, columns, key, values):
        return self._read(f"SELECT {', '.join(columns)} FROM {self.table} WHERE {key} = ANY(%s)", [list(values)])

    def count(self):
        return self._read(f"SELECT count(*) FROM {self.table}")[0][0]


def _without_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_database(url: str, table: str = "sicot_products") -> IndexDatabase:
    if is_postgres_url(url):
        return PostgresDatabase(url, table)
    # sqlite:///relative.db, sqlite:////absolute.db (as SQLAlchemy writes them)
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
    return SQLiteDatabase(path, table)
