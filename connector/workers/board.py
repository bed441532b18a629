"""What the processes of `workers: N` share: counters per worker, the stop event, who aborted first."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from connector.outcomes.ledger import COUNTS, Counts

SLOTS = (*COUNTS, "progress_ppm")
PARENT = -2             # board.first when the parent stopped the job (Ctrl-C, SIGTERM)


@dataclass(frozen=True)
class Board:
    """What the processes share: counters per worker, the stop event and who aborted first."""

    counters: Any       # multiprocessing Array('q', workers * len(SLOTS))
    stop: Any           # multiprocessing Event
    first: Any          # multiprocessing Value('i'): the worker that aborted first, -1 none, PARENT

    @classmethod
    def create(cls, context: Any, workers: int) -> "Board":
        return cls(context.Array("q", workers * len(SLOTS), lock=False), context.Event(),
                   context.Value("i", -1))

    @property
    def workers(self) -> int:
        return len(self.counters) // len(SLOTS)

    def publish(self, index: int, counts: Counts, share: float | None) -> None:
        base = index * len(SLOTS)
        for i, name in enumerate(COUNTS):
            self.counters[base + i] = getattr(counts, name)
        self.counters[base + len(COUNTS)] = -1 if share is None else int(share * 1_000_000)

    def counts_of(self, index: int) -> Counts:
        base = index * len(SLOTS)
        return Counts(*self.counters[base:base + len(COUNTS)])

    def counts(self) -> Counts:
        each = [self.counts_of(k) for k in range(self.workers)]
        return Counts(*(sum(getattr(c, name) for c in each) for name in COUNTS))

    def share(self) -> float | None:
        """The least share of the input read by any worker, 0..1; None when unknown."""
        shares = [self.counters[k * len(SLOTS) + len(COUNTS)] for k in range(self.workers)]
        return None if min(shares) < 0 else min(shares) / 1_000_000

    def trigger(self, who: int) -> None:
        """Record `who` as the first to abort (if no one was) and stop every worker."""
        with self.first.get_lock():
            if self.first.value == -1:
                self.first.value = who
        self.stop.set()


class BoardLedger:
    """The ledger face `connector.progress.Progress` reads: the workers' counts added up."""

    def __init__(self, board: Board, clock: Callable[[], float] = time.monotonic) -> None:
        self._board = board
        self._clock = clock
        self._started = clock()

    def counts(self) -> Counts:
        return self._board.counts()

    def elapsed(self) -> float:
        return self._clock() - self._started
