"""Group encoded objects into request bodies within Braze's per-request object and byte limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# Braze refuses bodies over 4 MB (413); stay clear of it with room for the envelope.
MAX_BODY_BYTES = 3_800_000


@dataclass(frozen=True)
class Entry:
    """One row on its way: its number, its values (for the rejected-rows file), its object."""

    row: int
    values: Mapping[str, Any] | None
    encoded: bytes


@dataclass
class Batch:
    array: str
    entries: list[Entry] = field(default_factory=list)
    size: int = 0

    def body(self) -> bytes:
        return b'{"%s":[%s]}' % (self.array.encode(), b",".join(e.encoded for e in self.entries))

    def halves(self) -> tuple["Batch", "Batch"]:
        mid = len(self.entries) // 2
        first, second = self.entries[:mid], self.entries[mid:]
        return (Batch(self.array, first, sum(len(e.encoded) + 1 for e in first)),
                Batch(self.array, second, sum(len(e.encoded) + 1 for e in second)))

    @property
    def rows(self) -> str:
        """'rows 3-77' for log lines."""
        first, last = self.entries[0].row, self.entries[-1].row
        return f"row {first}" if first == last else f"rows {first}-{last}"


class Batcher:
    """Open batches per request array; hands back each batch as soon as it is full."""

    def __init__(self, max_objects: int, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._max_objects = max_objects
        self._max_bytes = max_bytes
        self._open: dict[str, Batch] = {}

    def add(self, array: str, entry: Entry) -> list[Batch]:
        """Add an entry; return the batches that are ready to send (usually none)."""
        ready = []
        batch = self._open.get(array)
        cost = len(entry.encoded) + 1
        if batch is not None and batch.size + cost > self._max_bytes:
            ready.append(batch)           # the entry would push it over the byte cap
            batch = None
        if batch is None:
            batch = self._open[array] = Batch(array)
        batch.entries.append(entry)
        batch.size += cost
        if len(batch.entries) >= self._max_objects:
            ready.append(self._open.pop(array))
        return ready

    def flush(self) -> list[Batch]:
        ready = [b for b in self._open.values() if b.entries]
        self._open.clear()
        return ready
