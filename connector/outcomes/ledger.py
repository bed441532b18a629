"""The counting ledger: rows read and their outcomes, requests and retries; what the report sums."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from connector.outcomes import OUTCOMES, Settlement


@dataclass(frozen=True)
class Counts:
    rows_read: int
    rows_delivered: int
    rows_skipped: int
    rows_rejected: int
    rows_failed: int
    requests: int
    retries: int
    requests_unknown_fate: int


COUNTS = tuple(Counts.__dataclass_fields__)


class Ledger:
    """Counts each row once into delivered / skipped / rejected / failed; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._read = 0
        self._n = dict.fromkeys((*OUTCOMES, "requests", "retries", "unknown_fate"), 0)

    def read(self) -> None:
        """One more row read (called from the reading thread only)."""
        self._read += 1

    def settled(self, settlement: Settlement) -> None:
        with self._lock:
            n = self._n
            n["delivered"] += len(settlement.delivered)
            for refusal in settlement.refused:
                n[refusal.outcome] += 1

    def request(self, unknown_fate: bool = False) -> None:
        with self._lock:
            self._n["requests"] += 1
            self._n["unknown_fate"] += unknown_fate

    def retry(self) -> None:
        with self._lock:
            self._n["retries"] += 1

    def counts(self) -> Counts:
        with self._lock:
            n = dict(self._n)
        return Counts(self._read, n["delivered"], n["skipped"], n["rejected"], n["failed"],
                      n["requests"], n["retries"], n["unknown_fate"])

    def elapsed(self) -> float:
        return self._clock() - self._started

    def close(self) -> None:
        """Nothing to release: the counts stay readable."""
