"""Rows of a Parquet file or of a folder of parts, through pyarrow, streamed by record batch.

A folder is read part by part in path order (files and folders whose names start with '.' or '_',
such as Spark's _SUCCESS and .crc files, are left out); hive-style `key=value` folders become
columns; parts whose schemas differ are read under their union (a column missing from a part is
null there). Nested types arrive as structures (lists, structs and maps as lists and objects);
values are converted by connector/sources/typed.py, after nanosecond times are cut to
microseconds (what Python's datetime holds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from connector.errors import ConfigError, InputError, InvalidRow
from connector.sources.files import STDIN, ClosingSource
from connector.sources.typed import plain_mapping

MAX_PARTS = 100_000
MAGIC = b"PAR1"


def part_files(path: str) -> list[str]:
    """The Parquet files `path` stands for: itself, or the parts under a folder in path order."""
    if not os.path.exists(path):
        raise InputError(f"input file not found: {path}")
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        found += [os.path.join(folder, n) for n in sorted(names) if not n.startswith((".", "_"))]
        if len(found) > MAX_PARTS:
            raise InputError(f"the folder holds more than {MAX_PARTS:,} files: {path}")
    if not found:
        raise InputError(f"the folder holds no Parquet parts: {path}")
    return sorted(found)


def describe_parquet(path: str | None) -> dict[str, Any]:
    """The input's safe identity: its absolute path, how many part files and bytes it holds."""
    if path is None or path == STDIN:
        return {"format": "parquet", "path": path}
    files = part_files(path)
    return {"format": "parquet", "path": os.path.abspath(path), "files": len(files),
            "bytes": sum(os.path.getsize(f) for f in files)}


def _looks_like_parquet(path: str) -> bool:
    """Whether the file starts and ends with Parquet's magic bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 4))
            return head == MAGIC and handle.read(4) == MAGIC
    except OSError:
        return False


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.dataset  # noqa: F401 - loads pyarrow.dataset as an attribute
    except ImportError:
        raise ConfigError("input.format parquet needs pyarrow: pip install 'braze-export[parquet]'") from None
    return pyarrow


def _micro(pa: Any, kind: Any) -> Any:
    """`kind` with every nanosecond timestamp, time and duration, at any depth, in microseconds."""
    types = pa.types
    if types.is_timestamp(kind) and kind.unit == "ns":
        return pa.timestamp("us", kind.tz)
    if types.is_time64(kind) and kind.unit == "ns":
        return pa.time64("us")
    if types.is_duration(kind) and kind.unit == "ns":
        return pa.duration("us")
    if types.is_list(kind) or types.is_large_list(kind):
        make = pa.list_ if types.is_list(kind) else pa.large_list
        return make(kind.value_field.with_type(_micro(pa, kind.value_type)))
    if types.is_fixed_size_list(kind):
        return pa.list_(kind.value_field.with_type(_micro(pa, kind.value_type)), kind.list_size)
    if types.is_struct(kind):
        return pa.struct([field.with_type(_micro(pa, field.type)) for field in kind])
    if types.is_map(kind):
        return pa.map_(kind.key_field.with_type(_micro(pa, kind.key_type)),
                       kind.item_field.with_type(_micro(pa, kind.item_type)))
    return kind


class ParquetSource(ClosingSource):
    """The rows of a Parquet file or folder, `batch_rows` at a time."""

    def __init__(self, path: str | None, batch_rows: int) -> None:
        if path is None:
            raise InputError("no input given: set input.path in the config or pass --input")
        if path == STDIN:
            raise InputError("a Parquet input cannot be read from standard input (give a file or a folder)")
        pa = self._pa = _pyarrow()
        self._path = os.path.abspath(path)
        files = part_files(path)
        folder = os.path.isdir(path)
        try:
            dataset = pa.dataset.dataset(files, format="parquet", partitioning="hive" if folder else None,
                                         partition_base_dir=path if folder else None)
        except (pa.ArrowException, OSError) as exc:
            bad = next((f for f in files if not _looks_like_parquet(f)), None)
            if bad is not None:
                raise InputError(f"the input is not a Parquet file: {bad}") from None
            raise InputError(f"the input cannot be read as Parquet ({type(exc).__name__}): {path}") from None
        self._parts = sorted(dataset.get_fragments(), key=lambda fragment: fragment.path)
        schemas, total = [dataset.schema], 0
        for fragment in self._parts:
            try:
                schemas.append(fragment.physical_schema)
                total += fragment.metadata.num_rows
            except (pa.ArrowException, OSError):
                raise InputError(f"the input is not a Parquet file: {fragment.path}") from None
        try:
            self._schema = pa.unify_schemas(schemas, promote_options="permissive")
        except pa.ArrowException as exc:
            raise InputError(f"the Parquet parts of {path} do not share a schema: {exc}") from None
        self._wanted = pa.schema([field.with_type(_micro(pa, field.type)) for field in self._schema])
        self._batch_rows, self._total, self._read = batch_rows, total, 0
        self.columns: list[str] | None = list(self._schema.names)
        self._open = True

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        pa, number = self._pa, 0
        cast = self._wanted != self._schema
        for fragment in self._parts:
            try:
                for batch in fragment.to_batches(schema=self._schema, batch_size=self._batch_rows,
                                                 batch_readahead=2, fragment_readahead=1):
                    if not self._open:
                        return
                    if cast:
                        batch = batch.cast(self._wanted, safe=False)
                    for row in batch.to_pylist(maps_as_pydicts="lossy"):
                        number += 1
                        self._read = number
                        yield number, plain_mapping(row)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"reading {fragment.path} failed after row {number}: {exc}") from None

    def describe(self) -> dict[str, Any]:
        """The absolute path, the number of part files, and the rows their metadata announce."""
        return {"format": "parquet", "path": self._path, "files": len(self._parts), "rows": self._total}

    def progress(self) -> float | None:
        """Rows read over the rows the parts' metadata announce."""
        return 1.0 if self._total == 0 else min(1.0, self._read / self._total)

    def close(self) -> None:
        """Stop reading (pyarrow closes each part as its batches end)."""
        self._open = False
