"""Which batch may go out next: each user's rows in input order, every other batch side by side.

The reading thread fills batches through a few batchers (connector/delivery/dispatch.py routes
each user to one, and says how many); a full batch is closed. A
closed batch waits for the earlier batches, not yet settled, that hold a row of one of its users,
and for no other. So one user's rows go out one request after another, in input order (they share
an array too: the mode and the kind of identifier decide it), while batches of other users go out
side by side, whichever batcher filled them. Partial batches that waited too long (a slow input),
and all of them at the end, are merged into as few requests as Braze's limit allows, a user's
rows never split between two of them.

Why per user and not per lane of users (a hash of the key): with lanes, each batch of a lane
waited for the one before it, so a merged batch of partial ones held up every lane it touched,
and the batches of a group of lanes went out one at a time; at 100 ms per answer that kept the
pace at a sixth of the budget (bench/README.md). A batch waits for a batch that was closed
before it, never the other way round, so no batch ever waits for one that waits for it.

Not thread-safe: delivery holds one lock around the open batches (the reading thread fills them,
the flusher takes the stale ones) and another around the schedule (taken once per batch, by the
reading thread when a batch closes and by the senders), so that the senders never contend with
the reading thread row by row.
"""

from __future__ import annotations

import collections
from typing import Callable

from connector.delivery.batching import Batch, Batcher


class Batchers:
    """The batches being filled (the reading thread's side): `most` batchers, of which delivery
    uses as many as it needs now."""

    def __init__(self, most: int, max_objects: int, clock: Callable[[], float]) -> None:
        self.batchers = [Batcher(max_objects, clock) for _ in range(most)]

    def stale(self, opened_before: float) -> list[Batch]:
        """Take the partial batches that waited since before `opened_before`."""
        return [batch for batcher in self.batchers for batch in batcher.take_stale(opened_before)]

    def flush(self) -> list[Batch]:
        """Take every partial batch (the end of the input, or before users move to other batchers)."""
        return [batch for batcher in self.batchers for batch in batcher.flush()]


class Schedule:
    """The closed batches not yet settled, what each waits for, and the batches ready to be sent."""

    def __init__(self, max_objects: int) -> None:
        self._max = max_objects
        self._holder: dict[str, Batch] = {}     # user key -> the latest closed, unsettled batch with its rows
        self._ready: collections.deque[Batch] = collections.deque()
        self.pending = 0        # batches closed and not yet done

    def close(self, batch: Batch) -> int:
        """Schedule a closed batch behind the batches holding its users; 1 if it is ready now."""
        holder = self._holder
        for key in batch.keys:
            earlier = holder.get(key)
            if earlier is batch:
                continue
            holder[key] = batch
            if earlier is not None:
                later = earlier.then
                if not later or later[-1] is not batch:     # once per earlier batch
                    later.append(batch)
                    batch.waits += 1
        self.pending += 1
        if batch.waits:
            return 0
        self._ready.append(batch)
        return 1

    def take(self) -> Batch | None:
        """The next batch to send, if one is ready."""
        return self._ready.popleft() if self._ready else None

    def has_ready(self) -> bool:
        return bool(self._ready)

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    def resume(self, batch: Batch) -> int:
        """A batch taken earlier (and parked) is to be sent again first; its users still wait for it."""
        self._ready.appendleft(batch)
        return 1

    def done(self, batch: Batch) -> int:
        """The batch is settled: its users move on. The number of batches that became ready."""
        self.pending -= 1
        holder = self._holder
        for key in batch.keys:
            if holder.get(key) is batch:
                del holder[key]
        woken = 0
        for later in batch.then:
            later.waits -= 1
            if not later.waits:
                self._ready.append(later)
                woken += 1
        batch.then = []
        return woken

    def merge(self, partial: list[Batch]) -> int:
        """Close `partial` as few batches per array as the object limit allows. A partial batch is
        never split (one batcher holds all of a user's open rows), so a user's rows stay in one."""
        woken = 0
        by_array: dict[str, list[Batch]] = {}
        for batch in partial:
            by_array.setdefault(batch.array, []).append(batch)
        for array, batches in by_array.items():
            merged: Batch | None = None
            for part in batches:
                if merged is not None and len(merged.entries) + len(part.entries) > self._max:
                    woken += self.close(merged)
                    merged = None
                if merged is None:
                    merged = Batch(array, opened=part.opened)
                merged.entries.extend(part.entries)
                merged.keys.extend(part.keys)
            if merged is not None:
                woken += self.close(merged)
        return woken

    def empty(self) -> bool:
        """Nothing queued or in flight."""
        return self.pending == 0
