"""The live progress line: rows read and delivered, rows/s, the pace against the budget, requests in
flight, latency, retries and an ETA, so that a user can tell whether Braze, the network or the
tool is the bottleneck."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable, Protocol, TextIO

from connector.logs import LOGGER, clear_line
from connector.outcomes.ledger import Counts


class Counted(Protocol):
    """What the progress line reads: a ledger, or the workers' board."""

    def counts(self) -> Counts: ...
    def elapsed(self) -> float: ...


class Live(Protocol):
    """What delivery says of itself (connector.delivery.dispatch.Live)."""

    in_flight: int
    limit: int
    latency_s: float | None
    budget_per_second: float


class Progress:
    """Every `interval` seconds the figures of the job: on a terminal it redraws one line; elsewhere it
    logs a line (with the figures as fields of a JSON log record)."""

    def __init__(self, ledger: Counted, share_read: Callable[[], float | None], *,
                 stream: TextIO | None = None, interval: float | None = None, json_logs: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ledger = ledger
        self._share = share_read
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() and not json_logs
        self._interval = interval if interval is not None else (0.5 if self._tty else 10.0)
        self._clock = clock
        self._live: Callable[[], Live] | None = None
        self._before: tuple[float, int, int] | None = None      # (elapsed, requests, delivered) last time
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def watch(self, delivery: Any) -> None:
        """Show this delivery's pace too (an ExportOptions.on_delivery callback)."""
        self._live = delivery.live

    def __enter__(self) -> "Progress":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        if self._tty:
            clear_line(self._stream)

    def figures(self) -> dict[str, Any]:
        """The figures of the line, as numbers."""
        c = self._ledger.counts()
        elapsed = max(self._ledger.elapsed(), 1e-9)
        rows_per_s = c.rows_delivered / elapsed
        before = self._before or (0.0, 0, 0)
        span = max(elapsed - before[0], 1e-9)
        requests_per_s = (c.requests - before[1]) / span
        recent_rows_per_s = (c.rows_delivered - before[2]) / span
        self._before = (elapsed, c.requests, c.rows_delivered)
        out: dict[str, Any] = {"rows_read": c.rows_read, "rows_delivered": c.rows_delivered,
                               "rows_per_second": round(rows_per_s), "requests_per_second": round(requests_per_s, 1),
                               "retries": c.retries}
        live = self._live() if self._live is not None else None
        if live is not None:
            out.update(in_flight=live.in_flight, concurrency_limit=live.limit,
                       latency_ms=None if live.latency_s is None else round(live.latency_s * 1000),
                       budget_per_second=round(live.budget_per_second, 1),
                       budget_share=round(requests_per_s / live.budget_per_second, 3) if live.budget_per_second else None)
        share = self._share()
        pace = recent_rows_per_s or rows_per_s
        if share and 0 < share < 1 and pace > 0:        # rows the whole input holds, by what was read
            out["eta_seconds"] = round(max(0.0, c.rows_read / share - c.rows_delivered) / pace)
        return out

    def line(self, figures: dict[str, Any] | None = None) -> str:
        f = figures if figures is not None else self.figures()
        text = f"{f['rows_read']:,} rows read, {f['rows_delivered']:,} delivered, {f['rows_per_second']:,} rows/s"
        if "in_flight" in f:
            budget = f"{f['budget_per_second']:,.0f}"
            latency = "" if f["latency_ms"] is None else f", latency {f['latency_ms']:,} ms"
            text += (f"; {f['requests_per_second']:,.0f} requests/s of {budget} allowed, "
                     f"{f['in_flight']} in flight{latency}")
        text += f"; {f['retries']} retries"
        if "eta_seconds" in f:
            text += f", ETA {f['eta_seconds']:,}s"
        return text

    def _loop(self) -> None:
        log = logging.getLogger(LOGGER)
        while not self._done.wait(self._interval):      # ends when the job is over
            if self._tty:
                clear_line(self._stream, self.line())
            else:
                figures = self.figures()
                log.info("progress: %s", self.line(figures), extra={"fields": {"event": "progress", **figures}})
