"""Retry warnings that inform without drowning the progress line.

With JSON logs each retry is one record (`event: retry`, with its rows, attempt, cause and wait),
for machines to count. As text, the first retry is said at once and the later ones are summed up
in one line every `every_s` seconds: '62 retries in the last 10 s (HTTP 503 x58, connection lost
before the answer x4); the last: 75 rows, from row 5 to 570, retry 3/6, waiting 4.00s'.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Callable

log = logging.getLogger("braze_export")

EVERY_S = 10.0


class RetryLog:
    """Thread-safe; `flush` is called on the delivery's beat and at its end."""

    def __init__(self, json_logs: bool, every_s: float = EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._json = json_logs
        self._every = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._causes: Counter[str] = Counter()
        self._last = ""
        self._since = clock()
        self._said_first = False

    def retried(self, retry: int, maximum: int, rows: str, cause: str, wait_s: float) -> None:
        text = f"{rows}, retry {retry}/{maximum}, waiting {wait_s:.2f}s"
        if self._json:
            log.warning("retry %d/%d of %s after %s; waiting %.2fs", retry, maximum, rows, cause, wait_s,
                        extra={"fields": {"event": "retry", "retry": retry, "maximum": maximum, "rows": rows,
                                          "cause": cause, "wait_seconds": round(wait_s, 3)}})
            return
        with self._lock:
            if not self._said_first:
                self._said_first = True
                self._since = self._clock()
                first = True
            else:
                first = False
                self._causes[cause] += 1
                self._last = text
        if first:
            log.warning("retry %d/%d of %s after %s; waiting %.2fs (later retries are summed up every %.0f s)",
                        retry, maximum, rows, cause, wait_s, self._every)

    def flush(self, final: bool = False) -> None:
        """Say the retries summed since the last line, when `every_s` has passed (or at the end)."""
        with self._lock:
            now = self._clock()
            if not self._causes or (not final and now - self._since < self._every):
                return
            count = sum(self._causes.values())
            causes = ", ".join(f"{cause} x{n}" for cause, n in self._causes.most_common())
            span = max(now - self._since, 0.0)
            last = self._last
            self._causes.clear()
            self._since = now
        log.warning("%d retries in the last %.0f s (%s); the last: %s", count, span, causes, last)
