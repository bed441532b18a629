"""Which rows go out in which request: each user's rows in input order, every other user's side by side.

Rows fill one open batch per array. When a batch closes (full, or partial once it waited too
long, or at the end of the input) it holds its users until it is settled; a row of a held user
is held too, in input order, and joins the open batch only once its user's batch is settled. So a
user's rows go out one request after another, in input order (they share an array too: the mode
and the kind of identifier decide it), and a closed batch never waits: it goes out as soon as a
slot is free, side by side with every other.

Why rows are held and not batches: batches filled by a hash of the user key through a few
batchers (lanes, later batchers per user) waited for the earlier batches holding one of their
users. With users of several rows, consecutive batches of one batcher nearly always share a user,
so they went one latency apart, in chains; at 300 ms per answer and ten rows per user that kept
a second of a 300,000-row job at a tenth of its limit in flight (bench/README.md). Holding the
rows instead leaves every batch free to go: only the rows that must wait, wait.

Not thread-safe: delivery holds its lock around it (connector/delivery/dispatch.py).
"""

from __future__ import annotations

import collections
from typing import Callable

from connector.delivery.batching import Batch
from connector.rows import Entry

CLOSED = 1      # Schedule.add: the row closed a batch, ready to send
HELD = 2        # ... the row was held, and the held rows grew by a batch's worth


class Schedule:
    """The open batches, the closed batches not yet settled, the rows held for their users'
    batches, and the batches ready to be sent."""

    def __init__(self, max_objects: int, clock: Callable[[], float]) -> None:
        self._max = max_objects
        self._clock = clock
        self._open: dict[str, Batch] = {}          # array -> the batch being filled
        self._holder: dict[str, Batch] = {}        # user key -> its closed batch, not yet settled
        self._held: dict[str, list[tuple[str, Entry]]] = {}    # user key -> its rows waiting for it
        self._held_rows = 0
        self._ready: collections.deque[Batch] = collections.deque()
        self._unsettled = 0      # batches closed and not yet done

    def add(self, array: str, entry: Entry, key: str) -> int:
        """One row of the user `key`, in input order. CLOSED if it closed a batch (ready now),
        HELD if the held rows grew by a batch's worth (the caller may wait for room), else 0."""
        if key in self._holder:
            rows = self._held.get(key)
            if rows is None:
                rows = self._held[key] = []
            rows.append((array, entry))
            self._held_rows += 1
            return HELD if self._held_rows % self._max == 0 else 0
        batch = self._open.get(array)
        if batch is None:
            batch = self._open[array] = Batch(array, opened=self._clock())
        entries = batch.entries
        entries.append(entry)
        batch.keys.append(key)
        if len(entries) >= self._max:
            del self._open[array]
            self._close(batch)
            return CLOSED
        return 0

    def _close(self, batch: Batch) -> None:
        holder = self._holder
        for key in batch.keys:
            holder[key] = batch
        self._unsettled += 1
        self._ready.append(batch)

    def close_open(self, opened_before: float | None = None) -> int:
        """Close the open batches (those opened before `opened_before`, if given): a slow input,
        or the end of it. The number of batches closed (each ready)."""
        arrays = [a for a, b in self._open.items() if opened_before is None or b.opened < opened_before]
        for array in arrays:
            self._close(self._open.pop(array))
        return len(arrays)

    def take(self) -> Batch | None:
        """The next batch to send, if one is ready."""
        return self._ready.popleft() if self._ready else None

    def has_ready(self) -> bool:
        return bool(self._ready)

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    @property
    def pending(self) -> int:
        """What is in memory waiting to be settled, in batches: the closed ones and the held rows."""
        return self._unsettled + self._held_rows // self._max

    def resume(self, batch: Batch) -> int:
        """A batch taken earlier (and parked) is to be sent again first; its users stay held."""
        self._ready.appendleft(batch)
        return 1

    def done(self, batch: Batch) -> int:
        """The batch is settled: its users' held rows join the open batches, in input order. The
        number of batches that this closed."""
        self._unsettled -= 1
        holder, held = self._holder, self._held
        closed = 0
        for key in batch.keys:
            if holder.get(key) is not batch:
                continue        # a user with several rows in it, released at its first
            del holder[key]
            rows = held.pop(key, None)
            if rows:
                self._held_rows -= len(rows)
                for array, entry in rows:   # may close a batch that holds the user again: the rest is held
                    closed += self.add(array, entry, key) == CLOSED
        return closed

    def empty(self) -> bool:
        """Nothing open, held, queued or in flight."""
        return not self._unsettled and not self._open
