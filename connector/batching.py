"""Group objects into requests within Braze's per-request object limit; encode each batch once."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, NamedTuple

from connector.model import Values

# Braze refuses bodies over 4 MB (413). A batch whose body is larger than this is split in halves
# before it is sent; the writers keep every single object under 4 MB.
MAX_BODY_BYTES = 3_800_000

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class Entry(NamedTuple):
    """One row on its way: its number, its values (for the rejected-rows file), its object.

    values may be the row's raw CSV cells, which the ledger turns into the row when it needs
    them (Ledger.read_cells_with); body may be bytes, the object already encoded (Item.body).
    """

    row: int
    values: Values
    body: Any


class Batch:
    """The objects of one request, all of one array."""

    __slots__ = ("array", "entries", "opened", "_payload")

    def __init__(self, array: str, entries: list[Entry] | None = None, opened: float = 0.0) -> None:
        self.array = array
        self.entries: list[Entry] = entries if entries is not None else []
        self.opened = opened            # when its first entry came (the batcher's clock)
        self._payload: bytes | None = None

    def body(self) -> bytes:
        """The request body, encoded once. ValueError / UnicodeEncodeError if an object holds
        NaN, Infinity or text that is not valid UTF-8 (the writers refuse those rows first)."""
        if self._payload is None:
            bodies = [e.body for e in self.entries]
            if any(type(b) is bytes for b in bodies):   # pre-encoded objects are joined as they are
                inner = b",".join([b if type(b) is bytes else _encode(b).encode("utf-8") for b in bodies])
                self._payload = b'{"' + self.array.encode() + b'":[' + inner + b"]}"
            else:
                self._payload = _encode({self.array: bodies}).encode("utf-8")
        return self._payload

    def halves(self) -> tuple["Batch", "Batch"]:
        mid = len(self.entries) // 2
        return Batch(self.array, self.entries[:mid]), Batch(self.array, self.entries[mid:])

    @property
    def rows(self) -> str:
        """'rows 3-77' for log lines."""
        first, last = self.entries[0].row, self.entries[-1].row
        return f"row {first}" if first == last else f"rows {first}-{last}"


def sendable(entry: Entry) -> bool:
    """Whether one object can be encoded as JSON (used to find the culprit of a failed batch)."""
    if type(entry.body) is bytes:
        return True
    try:
        _encode(entry.body).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


class Batcher:
    """Open batches per request array; hands back each batch as soon as it is full."""

    __slots__ = ("_max_objects", "_open", "_clock")

    def __init__(self, max_objects: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_objects = max_objects
        self._open: dict[str, Batch] = {}
        self._clock = clock

    def add(self, array: str, entry: Entry) -> Batch | None:
        """Add an entry; return the batch if this filled it."""
        batch = self._open.get(array)
        if batch is None:
            batch = self._open[array] = Batch(array, opened=self._clock())
        entries = batch.entries
        entries.append(entry)
        if len(entries) >= self._max_objects:
            del self._open[array]
            return batch
        return None

    def take_stale(self, opened_before: float) -> list[Batch]:
        """Hand back the open batches whose first entry came before `opened_before`."""
        stale = [a for a, b in self._open.items() if b.opened < opened_before]
        return [self._open.pop(a) for a in stale]

    def flush(self) -> list[Batch]:
        ready = [b for b in self._open.values() if b.entries]
        self._open.clear()
        return ready
