"""The live progress line: rows read and delivered, rows/s, retries and an ETA, while a job runs."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Callable, Protocol, TextIO

from connector.logs import LOGGER
from connector.outcomes.ledger import Counts


class Counted(Protocol):
    """What the progress line reads: a ledger, or the workers' board."""

    def counts(self) -> Counts: ...
    def elapsed(self) -> float: ...


class Progress:
    """Every `interval` seconds: rows read and delivered, rows/s, retries and, when the input's
    size is known, an ETA. On a terminal it redraws one line; elsewhere it logs a line."""

    def __init__(self, ledger: Counted, share_read: Callable[[], float | None], *,
                 stream: TextIO | None = None, interval: float | None = None, json_logs: bool = False) -> None:
        self._ledger = ledger
        self._share = share_read
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() and not json_logs
        self._interval = interval if interval is not None else (0.5 if self._tty else 10.0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def __enter__(self) -> "Progress":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        if self._tty:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def line(self) -> str:
        c = self._ledger.counts()
        elapsed = max(self._ledger.elapsed(), 1e-9)
        rate = c.rows_delivered / elapsed
        text = (f"{c.rows_read:,} rows read, {c.rows_delivered:,} delivered, {rate:,.0f} rows/s, "
                f"{c.retries} retries")
        share = self._share()
        if share and 0 < share < 1:
            text += f", ETA {elapsed * (1 - share) / share:,.0f}s"
        return text

    def _loop(self) -> None:
        log = logging.getLogger(LOGGER)
        while not self._done.wait(self._interval):
            if self._tty:
                self._stream.write("\r\x1b[K" + self.line())
                self._stream.flush()
            else:
                log.info("progress: %s", self.line())
