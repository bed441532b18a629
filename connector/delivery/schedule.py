"""Which rows go out in which request: each user's rows in input order, every other user's side by side.

Rows fill one open batch per array. When a batch closes (full, or partial once it waited too
long, or at the end of the input) it holds its users until it is settled; a row of a held user
is held too, in input order, and joins the open batch only once its user's batch is settled. So a
user's rows go out one request after another, in input order (they share an array too: the mode
and the kind of identifier decide it), and a closed batch never waits: it goes out as soon as a
slot is free, side by side with every other.

A user's held rows, once released, go into one batch together when they fit in one: if the open
batch has too little room left for them, they wait for the next open batch (the open one fills
with other rows meanwhile, a millisecond at full pace). Split, their tail was held again behind
the batch that took their head: a latency more, for ~13% of the rows at 300 ms per answer and
ten rows per user, and at the end of the input the job's last latency (bench/README.md).

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

CLOSED = 1      # Schedule.add: the row closed a batch, ready to send (more than 1: users waiting fill more)
HELD = -1       # ... the row was held, and the held rows grew by a batch's worth


# The holder of a user whose released rows wait for a batch with room for them all.
_NEXT = Batch("")


class Schedule:
    """The open batches, the closed batches not yet settled, the rows held for their users'
    batches, and the batches ready to be sent."""

    def __init__(self, max_objects: int, clock: Callable[[], float]) -> None:
        self._max = max_objects
        self._clock = clock
        self._open: dict[str, Batch] = {}          # array -> the batch being filled
        self._holder: dict[str, Batch] = {}        # user key -> its closed batch not yet settled, or _NEXT
        self._held: dict[str, list[tuple[str, Entry]]] = {}    # user key -> its rows waiting for it
        self._held_rows = 0
        self._next: dict[str, collections.deque[str]] = {}     # array -> users waiting for its next batch
        self._ready: collections.deque[Batch] = collections.deque()
        self._unsettled = 0      # batches closed and not yet done

    def add(self, array: str, entry: Entry, key: str) -> int:
        """One row of the user `key`, in input order. The batches it closed (ready now; CLOSED,
        or more when users waiting for the next batch fill it too), HELD if the held rows grew by
        a batch's worth (the caller may wait for room), else 0."""
        if key in self._holder:
            rows = self._held.get(key)
            if rows is None:
                rows = self._held[key] = []
            rows.append((array, entry))
            self._held_rows += 1
            return HELD if self._held_rows % self._max == 0 else 0
        if not self._put(array, entry, key):
            return 0
        return CLOSED + self._release_next(array)

    def _put(self, array: str, entry: Entry, key: str) -> bool:
        """Into the open batch; True if that filled and closed it."""
        batch = self._open.get(array)
        if batch is None:
            batch = self._open[array] = Batch(array, opened=self._clock())
        entries = batch.entries
        entries.append(entry)
        batch.keys.append(key)
        if len(entries) >= self._max:
            del self._open[array]
            self._close(batch)
            return True
        return False

    def _close(self, batch: Batch) -> None:
        holder = self._holder
        for key in batch.keys:
            holder[key] = batch
        self._unsettled += 1
        self._ready.append(batch)

    def _room(self, array: str) -> int:
        batch = self._open.get(array)
        return self._max - len(batch.entries) if batch is not None else self._max

    def _release(self, key: str, rows: list[tuple[str, Entry]]) -> int:
        """The user's rows, held until now, into the open batch: all of them, or (when they do not
        fit there but would fit better in a fresh one) none yet. The batches this closed; the
        caller lets the users waiting for the next batch in after it."""
        array = rows[0][0]
        room = self._room(array)
        if room < len(rows) <= self._max:
            self._holder[key], self._held[key] = _NEXT, rows     # its later rows join them
            self._next.setdefault(array, collections.deque()).append(key)
            return 0
        self._held_rows -= len(rows)
        closed = 0
        for array, entry in rows:   # more than a batch's worth: the batch that closes holds the rest
            if key in self._holder:
                self.add(array, entry, key)
            elif self._put(array, entry, key):
                closed += 1
        return closed

    def _release_next(self, array: str) -> int:
        """A batch of `array` closed: the users waiting for its next batch go into it, in turn,
        as long as they fit. The batches this closed."""
        waiting = self._next.get(array)
        closed = 0
        while waiting:      # ends: each pass takes a user off the queue, or stops
            room = self._room(array)
            if room < len(self._held[waiting[0]]) and room < self._max:
                break       # it waits for the batch after this one
            key = waiting.popleft()
            del self._holder[key]
            closed += self._release(key, self._held.pop(key))
        return closed

    def close_open(self, opened_before: float | None = None) -> int:
        """Close the open batches (those opened before `opened_before`, if given): a slow input,
        or the end of it. The number of batches closed (each ready); the users waiting for room
        go into the next open batch."""
        arrays = [a for a, b in self._open.items() if opened_before is None or b.opened < opened_before]
        for array in arrays:
            self._close(self._open.pop(array))
        return len(arrays) + sum(self._release_next(array) for array in arrays)

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
            if not rows:
                continue
            n = self._release(key, rows)
            if n:
                closed += n + self._release_next(rows[0][0])
        if not self._unsettled and any(self._next.values()):
            # nothing else will be settled, so the open batch may never fill (the reading thread
            # may wait for room that only these rows can make): it goes now, the users after it
            closed += self.close_open()
        return closed

    def empty(self) -> bool:
        """Nothing open, held, queued or in flight."""
        return not self._unsettled and not self._open
