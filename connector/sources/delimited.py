"""CSV and TSV rows: header from the first line, empty cells as None, declared column types converted;
each record read within max_record_bytes (bounds.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, cast

from connector.errors import HeaderError, InputError, InvalidRow
from connector.sources.bounds import DEFAULT_MAX_RECORD_BYTES, Lines, too_large
from connector.sources.convert import CONVERTERS, CellError, Converter
from connector.sources.files import ClosingSource, open_binary, share_read, text_encoding
from connector.sources.partition import Partition


class DelimitedSource(ClosingSource):
    """Rows of a CSV (RFC 4180 quoting) or TSV (no quoting) file, streamed."""

    def __init__(self, path: str | None, *, delimiter: str, quoting: bool, encoding: str,
                 columns: Mapping[str, str], stdin: BinaryIO | None = None,
                 partition: Partition | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        self._partition = partition
        self._raw, self._size, self._owned = open_binary(path, stdin)
        self._text = io.TextIOWrapper(self._raw, encoding=text_encoding(encoding), errors="surrogateescape", newline="")
        self._lines = Lines(self._text, max_record_bytes, '"' if quoting else None)
        if csv.field_size_limit() <= max_record_bytes:   # a cell is never longer than its record
            csv.field_size_limit(max_record_bytes + 1)
        lines = cast(Iterator[str], iter(self._lines))   # a None in it (a record too large) is a csv.Error
        self._reader = csv.reader(
            lines, delimiter=delimiter, strict=quoting,
            quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        )
        try:
            self.columns: list[str] | None = self._read_header()
        except BaseException:
            self.close()
            raise
        self._kinds = dict(columns)
        self._converters = self._plan(columns) if self.columns is not None else []

    def _read_header(self) -> list[str] | None:
        for _ in range(1_000_000):  # blank lines before the header are skipped
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                if self._lines.over:
                    raise InputError(f"the header line is larger than max_record_bytes ({self._lines.limit} bytes)") from None
                raise InputError(f"the header line is not valid CSV ({exc})") from None
            except UnicodeDecodeError:
                raise InputError("the input cannot be decoded with the configured encoding") from None
            self._lines.used = 0
            if cells:
                return cells
        raise InputError("the input has no header line in its first million lines")

    def _plan(self, columns: Mapping[str, str]) -> list[tuple[str, int, Converter]]:
        header = self.columns or []
        missing = [name for name in columns if name not in header]
        if missing:
            names = ", ".join(missing)
            raise HeaderError(f"input.columns declares column(s) not in the input's header: {names}")
        plan = []
        for name, kind in columns.items():
            convert = CONVERTERS[kind]
            if convert is not None:
                index = len(header) - 1 - header[::-1].index(name)  # the last one wins, as in the row dict
                plan.append((name, index, convert))
        return plan

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        row_of = self.row_of
        for number, cells in self.cells():
            yield number, cells if isinstance(cells, InvalidRow) else row_of(cells)

    def cells(self) -> Iterator[tuple[int, list[str] | InvalidRow]]:
        """The raw cells of each row as long as the header (or InvalidRow), numbered as `iter`."""
        header = self.columns
        if header is None:
            return
        width, reader, lines, number = len(header), self._reader, self._lines, 0
        owns = self._partition.owns_cells(header) if self._partition is not None else None
        while True:  # ends at the end of the input: each pass consumes at least one line
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                if lines.over:      # a record over max_record_bytes (bounds.py): on to the next one
                    if owns is None or owns(number, ()):
                        yield number, InvalidRow(None, too_large(lines.limit))
                    self._skip(number)
                    continue
                lines.used = 0
                if owns is not None and not owns(number, ()):
                    continue
                yield number, InvalidRow(None, f"not valid CSV ({exc})")
                continue
            except UnicodeDecodeError:
                message = f"row {number + 1}: the input cannot be decoded with the configured encoding"
                raise InputError(message) from None
            except OSError as exc:
                raise InputError(f"reading the input failed after row {number} ({exc.strerror})") from None
            lines.used = 0          # the next record's budget starts
            if not cells:
                continue
            number += 1
            if owns is not None and not owns(number, cells):
                continue
            if len(cells) != width:
                yield number, InvalidRow(None, f"row has {len(cells)} fields, the header has {width}")
                continue
            yield number, cells

    def _skip(self, number: int) -> None:
        """On to the record after row `number`, which went over the bound (InputError when none can be found)."""
        try:
            self._lines.skip(number)
        except UnicodeDecodeError:
            raise InputError(f"row {number + 1}: the input cannot be decoded with the configured encoding") from None
        except OSError as exc:
            raise InputError(f"reading the input failed after row {number} ({exc.strerror})") from None

    def row_of(self, cells: list[str]) -> dict[str, Any] | InvalidRow:
        """The row of `cells` (as long as the header): empty cells None, declared types converted."""
        row = {name: cell or None for name, cell in zip(self.columns or (), cells)}
        try:
            for name, index, convert in self._converters:
                cell = cells[index]
                if cell:
                    row[name] = convert(cell)
        except CellError as exc:
            return InvalidRow(name, str(exc))
        return row

    def declared(self) -> dict[int, tuple[str, Converter]]:
        """(type, converter) of each declared column but strings, by its index in the header."""
        return {index: (self._kinds[name], convert) for name, index, convert in self._converters}

    def progress(self) -> float | None:
        """Share of the file read so far, or None for stdin."""
        return share_read(self._raw, self._size)

    def close(self) -> None:
        """Close the file (stdin is left open)."""
        text = getattr(self, "_text", None)
        if text is None:
            return
        self._text = None  # type: ignore[assignment]
        if self._owned:
            text.close()
        else:
            text.detach()
