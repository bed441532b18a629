"""Bounds on one record of a text input (its size, its nesting), enforced while it is read.

A reader never holds more than `max_record_bytes` of one record (plus a read chunk): its lines
come from `Lines`, which reads each with `readline(limit)` against what is left of the record's
budget, so a line that never ends (`/dev/zero`, a pipe of binary data) costs no more memory than
a record may. A record over the bound comes out of `Lines` as None (with `over` set; the csv
module makes that a csv.Error); the reader yields it as an invalid row and `Lines.skip` drops the
rest of it up to the next record: its line break (outside quotes, for CSV), looked for at most
`RESYNC_CHARS` past the record's start, or the input is an InputError. JSON nesting is checked on
the text before it is parsed (`too_deep`), so no parser recursion depends on the input.
docs/limits.md says it for users.
"""

from __future__ import annotations

import re
from typing import Iterator, TextIO

from connector.errors import InputError

DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024   # the schema's default: Braze's 4 MB body (for specs built by hand)
MAX_DEPTH = 64              # levels of nested arrays and objects in one value
RECORD_DEPTH = MAX_DEPTH + 1    # ... in a JSON record: the row's own object is one more
RESYNC_CHARS = 1 << 30      # how far past an oversized record's start its end is looked for
SKIP_CHUNK = 1 << 16        # characters read at a time while skipping
_ENDS = ("\n", "\r")
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)   # a string (skipped whole) or a bracket


def too_large(limit: int) -> str:
    """The reason given for a record over the bound."""
    return f"the record is larger than max_record_bytes ({limit} bytes)"


def nested_too_deep() -> str:
    """The reason given for a JSON record with a value nested beyond the bound."""
    return f"a value is nested deeper than {MAX_DEPTH} levels of arrays and objects"


def utf8_size(text: str) -> int:
    """Bytes of `text` as UTF-8 (an undecodable input byte, kept as a lone surrogate, counts one)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:      # a surrogate that no input byte made
        return len(text.encode("utf-8", "surrogatepass"))


def too_deep(text: str, start: int = 0, end: int | None = None, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text in text[start:end] nests arrays and objects deeper than `limit`, read
    without parsing it (brackets inside strings do not count)."""
    stop = len(text) if end is None else end
    if text.count("[", start, stop) + text.count("{", start, stop) <= limit:   # the common case, at C speed
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text, start, stop):
        token = text[match.start()]
        if token == '"':
            continue
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class Lines:
    """The lines of a text stream (iterate it once), read within the record's budget of `limit` bytes.

    The reader sets `used = 0` when a record starts (`done()` says the same) so that every line
    after counts against that record's budget. A line that would take the record over it is not
    handed out: `over` is set and None comes in its place (the csv module turns that into a
    csv.Error, the reader sees `over`), after which `skip(row)` must be called before reading on.
    A generator that survives the oversized record, rather than a `__next__` that raises: this is
    the hot loop of every text input. `quote` (CSV's quote character) lets `skip` tell a line break
    inside a quoted cell from a record's end.
    """

    def __init__(self, text: TextIO, limit: int, quote: str | None = None) -> None:
        self._text = text
        self.limit = limit
        self._quote = quote
        self.used = 0           # bytes of the record being read, so far
        self.over = False       # the record being read went over the bound: skip() it
        self._quotes = 0        # quote characters in it: odd means inside a quoted cell
        self._torn = False      # the line that went over the bound was cut: its rest is unread

    def __iter__(self) -> Iterator[str | None]:
        readline, limit, quote = self._text.readline, self.limit, self._quote
        first, quotes = "", -1      # the record's first line; its quotes so far (-1: not counted yet)
        while True:     # ends at the end of the text
            used = self.used
            line = readline(limit - used + 1)       # more characters than are left is more bytes
            if not line:
                return
            size = len(line) if line.isascii() else utf8_size(line)
            if used == 0:       # quotes are counted only for a record of several lines (they are rare)
                first, quotes = line, -1
            elif quote is not None:
                quotes = (first.count(quote) if quotes < 0 else quotes) + line.count(quote)
            if used + size > limit:
                if quote is not None:
                    self._quotes = quotes if used else line.count(quote)
                self._torn, self.over = not line.endswith(_ENDS), True
                yield None
                continue
            self.used = used + size
            yield line

    def done(self) -> None:
        """The record ended: the next line starts a new one."""
        self.used = 0

    def skip(self, row: int) -> None:
        """Drop the rest of the record that went over the bound: up to its line break (outside
        quotes), or to the end of the input. InputError when no end comes within RESYNC_CHARS."""
        torn, quotes, skipped = self._torn, self._quotes, 0
        self.over = False
        while skipped <= RESYNC_CHARS:      # bounded: each pass reads at least a character, or ends
            if not torn and quotes % 2 == 0:
                self.done()
                return
            chunk = self._text.readline(SKIP_CHUNK)
            if not chunk:
                self.done()
                return
            skipped += len(chunk)
            if self._quote is not None:
                quotes += chunk.count(self._quote)
            torn = not chunk.endswith(_ENDS)
        raise InputError(f"row {row}: the record has no end within {RESYNC_CHARS >> 30} GB of its start, "
                         "so the next record cannot be found (is the input text of its format at all?)")
