"""The counting ledger: rows read and their outcomes, requests and retries; what the report sums."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

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
SAMPLES = 20_000    # latencies kept for the percentiles (a uniform sample of them all beyond that)


class Ledger:
    """Counts each row once into delivered / skipped / rejected / failed; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._read = 0
        self._n = dict.fromkeys((*OUTCOMES, "requests", "retries", "unknown_fate", "resent", "fate_unknown"), 0)
        self._latencies: list[float] = []
        self._answered = 0
        self._first: float | None = None
        self._last: float | None = None
        self._sampler = random.Random(0)

    def read(self) -> None:
        """One more row read (called from the reading thread only)."""
        self._read += 1

    def settled(self, settlement: Settlement) -> None:
        with self._lock:
            n = self._n
            n["delivered"] += len(settlement.delivered)
            for refusal in settlement.refused:
                n[refusal.outcome] += 1
            if settlement.resent_after_unknown:
                n["resent"] += len(settlement.delivered)
            if settlement.unknown_fate:
                n["fate_unknown"] += len(settlement.refused)

    def request(self, unknown_fate: bool = False, latency_s: float | None = None) -> None:
        """One request made; `latency_s`: how long its answer took (None: no answer came)."""
        now = self._clock()
        with self._lock:
            self._n["requests"] += 1
            self._n["unknown_fate"] += unknown_fate
            if self._first is None:
                self._first = now - (latency_s or 0.0)
            self._last = now
            if latency_s is not None:
                self._answered += 1
                if len(self._latencies) < SAMPLES:
                    self._latencies.append(latency_s)
                elif (k := self._sampler.randrange(self._answered)) < SAMPLES:
                    self._latencies[k] = latency_s

    def figures(self) -> dict[str, Any]:
        """The pace achieved and the answers' latency percentiles, for the report."""
        with self._lock:
            latencies = sorted(self._latencies)
            span = (self._last - self._first) if self._first is not None and self._last is not None else 0.0
            requests = self._n["requests"]

        def percentile(q: float) -> float | None:
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None

        return {"rows_resent_after_unknown_fate": self._n["resent"], "rows_fate_unknown": self._n["fate_unknown"],
                "requests_per_second_achieved": round(requests / span, 1) if span > 0 else None,
                "latency_ms_p50": percentile(0.5), "latency_ms_p90": percentile(0.9),
                "latency_ms_p99": percentile(0.99)}

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
