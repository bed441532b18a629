"""`mapping:` — send rows whose column names are not Braze's: input columns renamed to Braze field
names, and constant fields added to every row, before the writer sees them.

Every other key names the input's columns as they are: `input.columns` types them, a `dedupe_key`
column is read (and never sent) before the mapping, and `pre_formatted_fields` entries are
renamed with their columns. A CSV/TSV input keeps its fast path when the mapping only renames
(the cells are the same, the header is renamed); constants make every row take the general path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from connector.errors import HeaderError, InvalidRow
from connector.keys import KeyColumns


@dataclass(frozen=True)
class ColumnMapping:
    columns: Mapping[str, str] = field(default_factory=dict)     # input column -> Braze field
    constants: Mapping[str, Any] = field(default_factory=dict)   # Braze field -> value for every row

    def __bool__(self) -> bool:
        return bool(self.columns or self.constants)

    def header(self, columns: Sequence[str]) -> list[str]:
        """The header as the writer sees it; HeaderError for a mapping the input cannot serve."""
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise HeaderError(f"mapping.columns names {', '.join(missing)}, which the input does not have")
        renamed = [self.columns.get(c, c) for c in columns]
        for name in renamed:
            if renamed.count(name) > 1:
                raise HeaderError(f"mapping: two columns of the input would both be sent as {name}")
        for name in self.constants:
            if name in renamed:
                raise HeaderError(f"mapping.constants adds {name}, which a column of the input is sent as already")
        return renamed + list(self.constants)

    def renamed(self, names: Sequence[str]) -> tuple[str, ...]:
        """Input column names (pre_formatted_fields) as the writer knows them."""
        return tuple(self.columns.get(n, n) for n in names)

    def input_keys(self, keys: KeyColumns) -> KeyColumns:
        """A mode's identifying columns named as the input has them (for the workers' partitions)."""
        back = {target: source for source, target in self.columns.items()}
        return tuple((kind, tuple(back.get(n, n) for n in names)) for kind, names in keys)

    def wrap(self, rows: Any) -> Any:
        """The rows as the writer is to see them (a source keeps its progress and closing)."""
        if not self:
            return rows
        if hasattr(rows, "cells") and not self.constants:
            return _MappedCells(rows, self)
        return _Mapped(rows, self)


class _Mapped:
    """Rows renamed and completed with the constants; the rest is the source's."""

    def __init__(self, rows: Any, mapping: ColumnMapping) -> None:
        self._rows = rows
        self._rename = dict(mapping.columns)
        self._constants = dict(mapping.constants)
        columns = getattr(rows, "columns", None)
        self.columns = mapping.header(columns) if columns is not None else None

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        for n, values in self._rows:
            yield n, values if isinstance(values, InvalidRow) else self._map(values)

    def _map(self, values: Mapping[str, Any]) -> dict[str, Any]:
        rename = self._rename
        out = {rename.get(k, k): v for k, v in values.items()}
        out.update(self._constants)
        return out

    def progress(self) -> float | None:
        progress: Callable[[], float | None] | None = getattr(self._rows, "progress", None)
        return progress() if progress is not None else None


class _MappedCells(_Mapped):
    """A CSV/TSV source renamed: the same cells under the renamed header (its fast path stays)."""

    def cells(self) -> Iterator[tuple[int, Any]]:
        return self._rows.cells()

    def row_of(self, cells: list[str]) -> Any:
        row = self._rows.row_of(cells)
        return row if isinstance(row, InvalidRow) else self._map(row)

    def declared(self) -> Any:
        return self._rows.declared()
