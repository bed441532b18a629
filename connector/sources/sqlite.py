"""Rows of one read-only SELECT/WITH query against an SQLite database, fetched in chunks."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connector.errors import InputError, InvalidRow
from connector.sources.files import ClosingSource, STDIN

FETCH = 1000
SQLITE_MAGIC = b"SQLite format 3\x00"
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE})
_COMMENTS = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.DOTALL)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")


def _authorize(action: int, *_: Any) -> int:
    """sqlite3 authorizer: reads only; anything that writes, attaches or changes settings is denied."""
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def _first_keyword(query: str) -> str:
    position = 0
    for _ in range(len(query) + 1):  # skip leading comments
        match = _COMMENTS.match(query, position)
        if not match or match.end() == position:
            break
        position = match.end()
    word = _FIRST_WORD.match(query, position)
    return word.group(1).upper() if word else ""


def check_database(path: str) -> None:
    """Raise InputError unless path is a readable SQLite database file."""
    if path == STDIN:
        raise InputError("an SQLite input cannot be read from standard input")
    file = Path(path)
    if file.is_dir():
        raise InputError(f"the input path is a directory, not a file: {path}")
    try:
        with open(file, "rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InputError(f"input file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"input file cannot be read ({exc.strerror}): {path}") from None
    if magic != SQLITE_MAGIC:
        raise InputError(f"the input is not an SQLite database: {path}")


class SqliteSource(ClosingSource):
    """The result of `query` on the database at `path`, opened read-only."""

    def __init__(self, path: str | None, query: str | None) -> None:
        if path is None:
            raise InputError("no input given: set input.path in the config or pass --input")
        if not query or _first_keyword(query) not in ("SELECT", "WITH"):
            raise InputError("the input query must be one read-only SELECT or WITH statement")
        check_database(path)
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
            self._conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            self._conn.execute("PRAGMA query_only = ON")
            self._conn.set_authorizer(_authorize)
            self._cursor = self._conn.execute(query)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            self.close()
            raise InputError(f"the SQLite query failed: {_reason(exc)}") from None
        self.columns: list[str] | None = [column[0] for column in self._cursor.description or ()]

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        if self._conn is None:
            return
        columns, number = self.columns or [], 0
        while True:  # ends when the cursor is exhausted
            try:
                chunk = self._cursor.fetchmany(FETCH)
            except sqlite3.Error as exc:
                raise InputError(f"the SQLite query failed after row {number}: {_reason(exc)}") from None
            if not chunk:
                return
            for values in chunk:
                number += 1
                blob = next((name for name, value in zip(columns, values) if isinstance(value, bytes)), None)
                if blob is not None:
                    yield number, InvalidRow(blob, "is a BLOB; cast it to TEXT in the query")
                else:
                    yield number, dict(zip(columns, values))

    def progress(self) -> float | None:
        """Unknown for a query: None."""
        return None

    def close(self) -> None:
        """Close the database connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "not authorized" in text:
        return "not authorized (the query must only read)"
    if "one statement at a time" in text:
        return "the query must be a single statement"
    return text
