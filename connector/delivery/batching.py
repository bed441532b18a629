"""A request's objects (filled by connector/delivery/schedule.py within Braze's per-request limit),
encoded once."""

from __future__ import annotations

import json
from typing import Any, Callable

from connector.rows import Entry

# Braze refuses bodies over 4 MB (413). A batch whose body is larger than this is split in halves
# before it is sent; the writers keep every single object under 4 MB.
MAX_BODY_BYTES = 3_800_000

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

# How a request body is made of one array's objects: (array, objects) -> bytes.
Encoder = Callable[[str, list[Any]], bytes]


def array_body(array: str, bodies: list[Any]) -> bytes:
    """`{"array":[...]}`, compact UTF-8; objects already encoded (bytes) are joined as they are.
    ValueError / UnicodeEncodeError if an object holds NaN, Infinity or text that is not UTF-8."""
    if any(type(b) is bytes for b in bodies):
        inner = b",".join([b if type(b) is bytes else _encode(b).encode("utf-8") for b in bodies])
        return b'{"' + array.encode() + b'":[' + inner + b"]}"
    return _encode({array: bodies}).encode("utf-8")


class Batch:
    """The objects of one request, all of one array, and the user keys of their rows."""

    __slots__ = ("array", "entries", "opened", "keys", "sending", "_payload")

    def __init__(self, array: str, entries: list[Entry] | None = None, opened: float = 0.0) -> None:
        self.array = array
        self.entries: list[Entry] = entries if entries is not None else []
        self.opened = opened            # when its first entry came (the schedule's clock)
        self.keys: list[str] = []       # one per entry, filled by connector/delivery/schedule.py
        self.sending: Any = None        # its delivery state, once a sender took it (delivery/attempts.py)
        self._payload: bytes | None = None

    def body(self, encode: Encoder = array_body) -> bytes:
        """The request body, encoded once (see array_body for the errors it raises)."""
        if self._payload is None:
            self._payload = encode(self.array, [e.body for e in self.entries])
        return self._payload

    def halves(self) -> tuple["Batch", "Batch"]:
        mid = len(self.entries) // 2
        return (Batch(self.array, self.entries[:mid], self.opened),
                Batch(self.array, self.entries[mid:], self.opened))

    @property
    def rows(self) -> str:
        """'75 rows, from row 3 to 77' (or 'row 3') for log lines: how many, and where."""
        first, last = self.entries[0].row, self.entries[-1].row
        if first < 0:       # on_removed's removals are numbered -1, -2, ... (outcomes.Settlement.removal)
            return f"removal {-first}" if first == last else f"removals {-first} to {-last}"
        if len(self.entries) == 1:
            return f"row {first}"
        return f"{len(self.entries)} rows, from row {first} to {last}"


def sendable(entry: Entry) -> bool:
    """Whether one object can be encoded as JSON (used to find the culprit of a failed batch)."""
    if type(entry.body) is bytes:
        return True
    try:
        _encode(entry.body).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True
