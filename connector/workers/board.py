"""What the processes of `workers: N` share: counters per worker, the stop flag, who aborted first."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from connector.outcomes.ledger import COUNTS, Counts

SLOTS = (*COUNTS, "progress_ppm")
PARENT = -2             # board.first() when the parent stopped the job (Ctrl-C, SIGTERM)


@dataclass(frozen=True)
class Board:
    """What the processes share: counters per worker, the stop flag and when each one aborted.

    Plain shared memory only (no semaphore, so multiprocessing starts no resource-tracker process
    that could outlive the job): each process writes only its own slots, and aligned 64-bit
    words are written whole, so no lock is needed."""

    counters: Any       # multiprocessing RawArray('q', workers * len(SLOTS))
    aborts: Any         # RawArray('q', workers + 2): [stopped, when worker 0 aborted, ..., when the parent did]

    @classmethod
    def create(cls, context: Any, workers: int) -> "Board":
        return cls(context.RawArray("q", workers * len(SLOTS)), context.RawArray("q", workers + 2))

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
        """Record when `who` (a worker, or PARENT) aborted, unless it already did, and stop every worker."""
        slot = 1 + (self.workers if who == PARENT else who)
        if self.aborts[slot] == 0:
            self.aborts[slot] = time.monotonic_ns()     # one clock for every process of the machine
        self.aborts[0] = 1

    def stopped(self) -> bool:
        """Whether the job is being stopped (someone triggered)."""
        return bool(self.aborts[0])

    def first(self) -> int:
        """The worker that aborted first, PARENT, or -1 when none did."""
        times = [(when, k) for k, when in enumerate(self.aborts[1:]) if when]
        if not times:
            return -1
        k = min(times)[1]
        return PARENT if k == self.workers else k


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
