"""JSON Lines (one object per line) and JSON array (streamed element by element) rows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from connector.errors import InputError, InvalidRow
from connector.sources.files import ClosingSource, open_binary, share_read, text_encoding
from connector.sources.partition import Partition

CHUNK = 64 * 1024  # characters read at a time
MAX_ROW = 16 * 1024 * 1024  # characters; one array element larger than this is refused
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


def _kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


class _TextSource(ClosingSource):
    """A decoded text stream over a file or stdin; invalid bytes become lone surrogates."""

    def __init__(self, path: str | None, encoding: str, stdin: BinaryIO | None) -> None:
        self.columns: list[str] | None = None  # not known up front
        self._raw, self._size, self._owned = open_binary(path, stdin)
        self._text: io.TextIOWrapper | None = io.TextIOWrapper(
            self._raw, encoding=text_encoding(encoding), errors="surrogateescape"
        )

    def progress(self) -> float | None:
        """Share of the file read so far, or None for stdin."""
        return share_read(self._raw, self._size)

    def close(self) -> None:
        """Close the file (stdin is left open)."""
        text, self._text = self._text, None
        if text is None:
            return
        if self._owned:
            text.close()
        else:
            text.detach()


class JsonLinesSource(_TextSource):
    """One JSON object per line; blank lines are ignored and not numbered."""

    def __init__(self, path: str | None, encoding: str, stdin: BinaryIO | None,
                 partition: Partition | None = None) -> None:
        super().__init__(path, encoding, stdin)
        self._partition = partition

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        if self._text is None:
            return
        number = 0
        owns = self._partition.owns_row if self._partition is not None else None
        try:
            for line in self._text:
                text = line.rstrip()
                if not text:
                    continue
                number += 1
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    if owns is not None and not owns(number, None):
                        continue
                    yield number, InvalidRow(None, f"not a JSON object: invalid JSON at column {exc.colno} ({exc.msg})")
                    continue
                if owns is not None and not owns(number, value if isinstance(value, dict) else None):
                    continue
                if isinstance(value, dict):
                    yield number, value
                else:
                    yield number, InvalidRow(None, f"not a JSON object: found {_kind(value)}")
        except UnicodeDecodeError:
            raise InputError(f"row {number + 1}: the input cannot be decoded with the configured encoding") from None


class JsonArraySource(_TextSource):
    """A top-level JSON array of objects, parsed one element at a time so memory stays flat."""

    def __init__(self, path: str | None, encoding: str, stdin: BinaryIO | None) -> None:
        super().__init__(path, encoding, stdin)
        self._buf, self._pos, self._eof = "", 0, False
        try:
            first = self._next_char()
        except BaseException:
            self.close()
            raise
        self._empty = first is None
        if first == "{":
            self.close()
            raise InputError(
                "the input is a JSON object where an array is expected (use jsonl for one object per line)"
            )
        if first is not None and first != "[":
            self.close()
            raise InputError("the input is not a JSON array (it must start with '[')")
        self._pos += 1

    def _fill(self) -> bool:
        """Read more text (at least as much as is buffered, so big rows cost linear time); False at the end."""
        if self._text is None:  # closed: nothing more will come
            self._eof = True
        if self._eof or self._text is None:
            return False
        if self._pos > CHUNK:
            self._buf, self._pos = self._buf[self._pos :], 0
        try:
            more = self._text.read(max(CHUNK, len(self._buf) - self._pos))
        except UnicodeDecodeError:
            raise InputError("the input cannot be decoded with the configured encoding") from None
        if not more:
            self._eof = True
            return False
        self._buf += more
        return True

    def _next_char(self) -> str | None:
        """Skip whitespace; the next character (not consumed), or None at the end of the input."""
        while True:  # each pass consumes buffered whitespace or reads more; ends at EOF
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return None

    def _decode(self, number: int) -> Any:
        while True:  # each retry reads more input; bounded by MAX_ROW and EOF
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
                if end < len(self._buf) or self._eof:
                    self._pos = end
                    return value
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise InputError(f"the JSON array is broken at row {number} ({exc.msg})") from None
            if len(self._buf) - self._pos > MAX_ROW:
                raise InputError(f"row {number} is not valid JSON or is larger than {MAX_ROW // (1024 * 1024)} MB")
            self._fill()

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        if self._empty or self._text is None:
            return
        number = 0
        if self._next_char() == "]":
            self._pos += 1
            self._check_tail()
            return
        while True:  # one element per pass; the input shrinks each time
            number += 1
            if self._next_char() is None:
                raise InputError(f"the JSON array is truncated at row {number}")
            value = self._decode(number)
            if isinstance(value, dict):
                yield number, value
            else:
                yield number, InvalidRow(None, f"not a JSON object: found {_kind(value)}")
            separator = self._next_char()
            self._pos += 1
            if separator == "]":
                self._check_tail()
                return
            if separator is None:
                raise InputError(f"the JSON array is truncated after row {number}")
            if separator != ",":
                raise InputError(f"the JSON array is broken after row {number} (expected ',' or ']')")

    def _check_tail(self) -> None:
        if self._next_char() is not None:
            raise InputError("the input has content after the end of the JSON array")
