"""Which batch may go out next: batches in input order per lane, a lane's batches one at a time.

Rows are routed to lanes by their user key, so one user's rows share a lane (and an array: the
mode and the kind of identifier decide it). Each lane fills its own batches, one per array; a full
batch joins the lane's queue. A batch may go out when it heads the queue of
every lane it holds rows of, so a lane's batches are sent one after another, in input order,
while different lanes' batches go out side by side. Partial batches that waited too long (a slow
input), and all of them at the end, are merged across lanes into as few requests as Braze's
limit allows; a merged batch waits for each of its lanes. Every queue keeps one global order
(the order batches were closed in), so no batch ever waits for one that waits for it.

Not thread-safe: delivery holds one lock around the lanes' open batches (the reading thread
fills them, the flusher takes the stale ones) and another around the queues (taken once per
batch, by the reading thread when a batch closes and by the senders), so that the senders never
contend with the reading thread row by row.
"""

from __future__ import annotations

import collections
from typing import Callable

from connector.delivery.batching import Batch, Batcher


class Lanes:
    """The batches each lane is filling (the reading thread's side)."""

    def __init__(self, lanes: int, max_objects: int, clock: Callable[[], float]) -> None:
        self.batchers = [Batcher(max_objects, clock, (lane,)) for lane in range(lanes)]   # by lane

    def stale(self, opened_before: float, idle: Callable[[int], bool]) -> list[Batch]:
        """Take the partial batches that waited since before `opened_before`, in idle lanes."""
        return [batch for lane, batcher in enumerate(self.batchers) if idle(lane)
                for batch in batcher.take_stale(opened_before)]

    def flush(self) -> list[Batch]:
        """Take every partial batch (the end of the input)."""
        return [batch for batcher in self.batchers for batch in batcher.flush()]



class Schedule:
    """The lanes' queues of closed batches, and the batches ready to be sent."""

    def __init__(self, lanes: int, max_objects: int) -> None:
        self._max = max_objects
        self._queues: list[collections.deque[Batch]] = [collections.deque() for _ in range(lanes)]
        self._ready: collections.deque[Batch] = collections.deque()
        self.pending = 0        # batches closed and not yet done

    def idle(self, lane: int) -> bool:
        """Nothing queued or in flight in this lane."""
        return not self._queues[lane]

    def close(self, batch: Batch) -> int:
        """Queue a closed batch; the number of batches that became ready (0 or 1)."""
        for lane in batch.lanes:
            self._queues[lane].append(batch)
        self.pending += 1
        return self._wake(batch)

    def _wake(self, batch: Batch) -> int:
        if not batch.ready and all(self._queues[lane][0] is batch for lane in batch.lanes):
            batch.ready = True
            self._ready.append(batch)
            return 1
        return 0

    def take(self) -> Batch | None:
        """The next batch to send, if one is ready."""
        return self._ready.popleft() if self._ready else None

    def has_ready(self) -> bool:
        return bool(self._ready)

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    def resume(self, batch: Batch) -> int:
        """A batch taken earlier (and parked) is to be sent again first; it still heads its lanes."""
        self._ready.appendleft(batch)
        return 1

    def done(self, batch: Batch) -> int:
        """The batch is settled: its lanes move on. The number of batches that became ready."""
        self.pending -= 1
        woken = 0
        for lane in batch.lanes:
            queue = self._queues[lane]
            queue.popleft()
            if queue:
                woken += self._wake(queue[0])
        return woken

    def merge(self, partial: list[Batch]) -> int:
        """Close `partial` as few batches per array as the object limit allows, in lane order. A
        lane's rows are never split between two merged batches, so the merged batches of one call
        hold different lanes and go out side by side (not one after another)."""
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
                merged.lanes += tuple(lane for lane in part.lanes if lane not in merged.lanes)
            if merged is not None:
                woken += self.close(merged)
        return woken

    def empty(self) -> bool:
        """Nothing queued or in flight."""
        return self.pending == 0
