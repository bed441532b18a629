"""JSON Lines (one object per line) and JSON array (streamed element by element) rows, each record
read within max_record_bytes and checked for nesting before it is parsed (bounds.py)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from connector.errors import InputError, InvalidRow
from connector.sources.bounds import (DEFAULT_MAX_RECORD_BYTES, RECORD_DEPTH, RESYNC_CHARS, Lines, nested_too_deep,
                                      too_deep, too_large, utf8_size)
from connector.sources.files import ClosingSource, open_binary, share_read, text_encoding
from connector.sources.partition import Partition

CHUNK = 64 * 1024  # characters read at a time
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()
_OUTSIDE = re.compile(r'["\[\]{},]')      # what matters to an element's end outside strings
_INSIDE = re.compile(r'["\\]')           # ... and inside them


def _kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


class _TextSource(ClosingSource):
    """A decoded text stream over a file or stdin; invalid bytes become lone surrogates."""

    def __init__(self, path: str | None, encoding: str, stdin: BinaryIO | None, max_record_bytes: int) -> None:
        self.columns: list[str] | None = None  # not known up front
        self._max = max_record_bytes
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
                 partition: Partition | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__(path, encoding, stdin, max_record_bytes)
        self._partition = partition

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | InvalidRow]]:
        if self._text is None:
            return
        number = 0
        owns = self._partition.owns_row if self._partition is not None else None
        lines = Lines(self._text, self._max)
        try:
            for line in lines:
                if line is None:        # over max_record_bytes: on to the next line
                    number += 1
                    if owns is None or owns(number, None):
                        yield number, InvalidRow(None, too_large(self._max))
                    lines.skip(number)
                    continue
                lines.used = 0
                text = line.rstrip()
                if not text:
                    continue
                number += 1
                value = _parse_line(text)
                if owns is not None and not owns(number, value if isinstance(value, dict) else None):
                    continue
                yield number, value
        except UnicodeDecodeError:
            raise InputError(f"row {number + 1}: the input cannot be decoded with the configured encoding") from None
        except OSError as exc:
            raise InputError(f"reading the input failed after row {number} ({exc.strerror})") from None


def _parse_line(text: str) -> dict[str, Any] | InvalidRow:
    """The object one line holds, or why it is not one."""
    if too_deep(text, limit=RECORD_DEPTH):
        return InvalidRow(None, nested_too_deep())
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return InvalidRow(None, f"not a JSON object: invalid JSON at column {exc.colno} ({exc.msg})")
    except RecursionError:      # too_deep is the bound; this only if the stack is short already
        return InvalidRow(None, nested_too_deep())
    return value if isinstance(value, dict) else InvalidRow(None, f"not a JSON object: found {_kind(value)}")


class JsonArraySource(_TextSource):
    """A top-level JSON array of objects, parsed one element at a time so memory stays flat."""

    def __init__(self, path: str | None, encoding: str, stdin: BinaryIO | None,
                 max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__(path, encoding, stdin, max_record_bytes)
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

    def _element(self, number: int) -> Any:
        """The next element's value, or an InvalidRow when it is over a bound (then skipped)."""
        while True:  # each retry reads more input; bounded by max_record_bytes and EOF
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
                if end < len(self._buf) or self._eof:
                    return self._checked(value, end)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise InputError(f"the JSON array is broken at row {number} ({exc.msg})") from None
            except RecursionError:      # deeper than the stack: deeper than the bound, surely
                self._skip_element(number)
                return InvalidRow(None, nested_too_deep())
            if len(self._buf) - self._pos > self._max:     # more characters than bytes allowed
                if self._skip_element(number) <= self._max:
                    raise InputError(f"the JSON array is broken at row {number}")
                return InvalidRow(None, too_large(self._max))
            self._fill()

    def _checked(self, value: Any, end: int) -> Any:
        """The decoded value of buf[pos:end], or an InvalidRow when it is over a bound; pos moves past it."""
        start, self._pos = self._pos, end
        if end - start > self._max // 4 and utf8_size(self._buf[start:end]) > self._max:
            return InvalidRow(None, too_large(self._max))
        if too_deep(self._buf, start, end, RECORD_DEPTH):
            return InvalidRow(None, nested_too_deep())
        return value

    def _skip_element(self, number: int) -> int:
        """Move past the element at pos without decoding it, keeping only a chunk of it at a time;
        the characters it took. InputError when it has no end within RESYNC_CHARS."""
        depth, in_string, skipped = 0, False, 0
        for _ in range(RESYNC_CHARS // CHUNK + 2):  # bounded: each pass scans what is buffered, then reads more
            buf, i, end = self._buf, self._pos, None
            while i < len(buf) and end is None:     # each pass moves i forward, or stops for more input
                if in_string:
                    found = _INSIDE.search(buf, i)
                    if found is None:
                        i = len(buf)
                    elif buf[found.start()] == '"':
                        in_string, i = False, found.end()
                    elif found.end() < len(buf):    # a backslash: the character after it is skipped
                        i = found.end() + 1
                    else:                           # ... once it has been read
                        break
                    continue
                found = _OUTSIDE.search(buf, i)
                token = "" if found is None else buf[found.start()]
                if found is None:
                    i = len(buf)
                elif token == '"':
                    in_string, i = True, found.end()
                elif token in "[{":
                    depth, i = depth + 1, found.end()
                elif depth == 0:        # the array's ',' or ']': the element ended before it
                    end = found.start()
                elif token == ",":
                    i = found.end()
                else:
                    depth, i = depth - 1, found.end()
                    if depth == 0:      # the element's own closing bracket
                        end = i
            if end is not None:
                skipped += end - self._pos
                self._pos = end
                return skipped
            skipped += i - self._pos
            self._pos = i
            if skipped > RESYNC_CHARS:
                break
            if not self._fill():
                raise InputError(f"the JSON array is truncated at row {number}")
        raise InputError(f"row {number}: the element has no end within {RESYNC_CHARS >> 30} GB of its start, "
                         "so the next one cannot be found")

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
            value = self._element(number)
            if isinstance(value, (dict, InvalidRow)):
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
