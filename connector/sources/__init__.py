"""Row readers: csv/tsv, jsonl/json, sqlite, sql (SQLAlchemy) and parquet, each yielding (row_number, dict or InvalidRow)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, BinaryIO, Callable, Protocol, runtime_checkable

from connector.config import InputSettings
from connector.errors import InputError, InvalidRow
from connector.sources.delimited import DelimitedSource
from connector.sources.jsonrows import JsonArraySource, JsonLinesSource
from connector.sources.partition import Partition
from connector.sources.sqlite import SqliteSource

__all__ = ["CellSource", "Partition", "Source", "describe_input", "open_source"]


class Source(Protocol):
    """Rows of one input, numbered from 1; also a context manager."""

    columns: list[str] | None  # the header as read, duplicates kept; None when not known up front

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]: ...

    def progress(self) -> float | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Source": ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class CellSource(Protocol):
    """A source that can also hand out each row's raw cells (csv, tsv), for a writer's fast path."""

    columns: list[str] | None

    def cells(self) -> Iterator[tuple[int, list[str] | InvalidRow]]:
        """(row number, the row's cells or InvalidRow), numbered as when iterating the rows."""
        ...

    def row_of(self, cells: list[str]) -> dict[str, Any] | InvalidRow:
        """The row dict the source would have yielded for these cells."""
        ...

    def declared(self) -> dict[int, tuple[str, Callable[[str], Any]]]:
        """(type, converter) of the typed columns (input.columns) but strings, by header index."""
        ...


def open_source(spec: InputSettings, stdin: BinaryIO | None = None, partition: Partition | None = None) -> Source:
    """Open the input spec describes; raises InputError (or HeaderError for undeclared typed columns).

    With a `partition`, only that worker's share of the rows is yielded (csv, tsv and jsonl only),
    under their row numbers in the whole input. A path that came from ${VAR} is named as written in
    every message (`where`), never as it expanded.
    """
    try:
        return _open(spec, stdin, partition)
    except InputError as exc:
        raise InputError(where(str(exc), spec)) from None


def where(message: str, spec: InputSettings) -> str:
    """The message with the input's path as the config wrote it, when it took a ${VAR}."""
    if spec.shown_path and spec.path:
        return message.replace(os.path.abspath(spec.path), spec.shown_path).replace(spec.path, spec.shown_path)
    return message


def _open(spec: InputSettings, stdin: BinaryIO | None, partition: Partition | None) -> Source:
    fmt = spec.format
    if partition is not None and fmt not in ("csv", "tsv", "jsonl"):
        raise InputError(f"a {fmt} input cannot be split between workers")
    if fmt in ("csv", "tsv"):
        delimiter = spec.delimiter or ("\t" if fmt == "tsv" else ",")
        return DelimitedSource(spec.path, delimiter=delimiter, quoting=fmt == "csv", encoding=spec.encoding,
                               columns=spec.columns, stdin=stdin, partition=partition,
                               max_record_bytes=spec.max_record_bytes)
    if fmt == "jsonl":
        return JsonLinesSource(spec.path, spec.encoding, stdin, partition, spec.max_record_bytes)
    if fmt == "json":
        return JsonArraySource(spec.path, spec.encoding, stdin, spec.max_record_bytes)
    if fmt == "sqlite":
        return SqliteSource(spec.path, spec.query)
    if fmt == "sql":
        from connector.sources.sql import SqlSource   # SQLAlchemy and a driver: only when asked for

        return SqlSource(spec)
    if fmt == "parquet":
        from connector.sources.parquet import ParquetSource   # pyarrow: only when asked for

        return ParquetSource(spec.path, spec.fetch_size)
    raise InputError(f"unknown input format: {fmt}")


def describe_input(spec: InputSettings) -> dict[str, Any]:
    """A safe description of the input, for reports and a resumed job's identity; it never holds a
    secret and opens nothing but a Parquet folder's listing. sql: engine, driver, host, port,
    database and query_sha256 (ConfigError when the URL or query is refused); parquet: the absolute
    path and its part files; files: the absolute path, or "-" for standard input."""
    if spec.format == "sql":
        from connector.sources.sql import sql_target

        return sql_target(spec).describe(spec.query)
    if spec.format == "parquet":
        from connector.sources.parquet import describe_parquet

        return describe_parquet(spec.path)
    path = spec.path if spec.path in (None, "-") else os.path.abspath(spec.path)
    return {"format": spec.format, "path": path}
