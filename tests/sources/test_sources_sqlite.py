"""SQLite: read-only queries only, typed values, not-a-database, stdin refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from source_helpers import read_all, spec, write_bytes

from connector.errors import InputError, InvalidRow
from connector.sources import open_source


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    path = tmp_path / "users.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (external_id TEXT, points INTEGER, ratio REAL, note TEXT, photo BLOB)")
    conn.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", [
        ("u1", 10, 0.5, "hi", None), ("u2", None, 1.25, None, None), ("u3", 7, None, "x", b"\x00\x01"),
    ] + [(f"bulk{i}", i, None, None, None) for i in range(2500)])
    conn.execute("INSERT INTO users (external_id, note) VALUES ('u4', CAST(X'636166E9' AS TEXT))")
    conn.commit()
    conn.close()
    return path


def rows_of(database: Path, query: str) -> list:
    return read_all(spec("sqlite", database, query=query))[1]


def test_select_rows_and_columns(database: Path) -> None:
    columns, rows = read_all(spec("sqlite", database, query="SELECT external_id, points, ratio, note "
                                                             "FROM users WHERE external_id LIKE 'u%' ORDER BY 1"))
    assert columns == ["external_id", "points", "ratio", "note"]
    assert rows == [
        (1, {"external_id": "u1", "points": 10, "ratio": 0.5, "note": "hi"}),
        (2, {"external_id": "u2", "points": None, "ratio": 1.25, "note": None}),
        (3, {"external_id": "u3", "points": 7, "ratio": None, "note": "x"}),
        (4, {"external_id": "u4", "points": None, "ratio": None, "note": "caf\udce9"}),
    ]


def test_many_rows_are_fetched_in_chunks_and_numbered(database: Path) -> None:
    rows = rows_of(database, "SELECT points FROM users WHERE external_id LIKE 'bulk%' ORDER BY points")
    assert len(rows) == 2500 and rows[-1] == (2500, {"points": 2499})


def test_with_and_comments_are_allowed(database: Path) -> None:
    query = "-- top users\n/* cte */ WITH t AS (SELECT external_id FROM users WHERE points > 8) SELECT * FROM t;"
    assert rows_of(database, query)[:1] == [(1, {"external_id": "u1"})]


def test_blob_values_make_the_row_invalid(database: Path) -> None:
    rows = rows_of(database, "SELECT external_id, photo FROM users WHERE external_id = 'u3'")
    assert isinstance(rows[0][1], InvalidRow) and rows[0][1].column == "photo"


@pytest.mark.parametrize("query, message", [
    ("INSERT INTO users (external_id) VALUES ('x')", "must be one read-only SELECT or WITH statement"),
    ("UPDATE users SET points = 0", "must be one read-only SELECT or WITH statement"),
    ("DELETE FROM users", "must be one read-only SELECT or WITH statement"),
    ("ATTACH DATABASE 'other.db' AS o", "must be one read-only SELECT or WITH statement"),
    ("PRAGMA user_version = 5", "must be one read-only SELECT or WITH statement"),
    ("DROP TABLE users", "must be one read-only SELECT or WITH statement"),
    ("", "must be one read-only SELECT or WITH statement"),
    ("WITH t AS (SELECT 1) INSERT INTO users (external_id) SELECT * FROM t", "not authorized"),
    ("WITH t AS (SELECT 1) DELETE FROM users", "not authorized"),
    ("SELECT 1; DELETE FROM users", "the query must be a single statement"),
    ("SELECT 1; ATTACH DATABASE 'x.db' AS x", "the query must be a single statement"),
    ("SELECT * FROM pragma_table_info('users')", "not authorized"),
    ("SELECT * FROM missing_table", "no such table: missing_table"),
])
def test_writer_queries_are_refused_and_nothing_changes(database: Path, query: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_source(spec("sqlite", database, query=query))
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*), sum(points) FROM users").fetchone() == (2504, 17 + sum(range(2500)))
    assert conn.execute("PRAGMA user_version").fetchone() == (0,)
    conn.close()
    assert not (database.parent / "other.db").exists() and not (database.parent / "x.db").exists()


def test_not_a_database(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "fake.db", b"id,name\n1,a\n")
    with pytest.raises(InputError, match="is not an SQLite database"):
        open_source(spec("sqlite", path, query="SELECT 1"))
    empty = write_bytes(tmp_path, "empty.db", b"")
    with pytest.raises(InputError, match="is not an SQLite database"):
        open_source(spec("sqlite", empty, query="SELECT 1"))


def test_sqlite_from_stdin_is_refused(database: Path) -> None:
    with pytest.raises(InputError, match="cannot be read from standard input"):
        open_source(spec("sqlite", "-", query="SELECT 1"))


def test_missing_database_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input file not found"):
        open_source(spec("sqlite", tmp_path / "nope.db", query="SELECT 1"))
    with pytest.raises(InputError, match="is a directory"):
        open_source(spec("sqlite", tmp_path, query="SELECT 1"))


def test_progress_is_unknown_and_close_is_idempotent(database: Path) -> None:
    source = open_source(spec("sqlite", database, query="SELECT 1 AS one"))
    assert source.progress() is None and list(source) == [(1, {"one": 1})]
    source.close()
    source.close()
