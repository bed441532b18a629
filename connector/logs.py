"""Log lines for people (text) or for container platforms (JSON), and the live progress line."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import threading
from typing import Callable, TextIO

from connector.report import Ledger

LOGGER = "braze_export"


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return f"braze-export: {prefix}{record.getMessage()}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        return json.dumps(entry, default=str)


def setup_logging(fmt: str = "text", stream: TextIO | None = None, level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


class Progress:
    """Every `interval` seconds: rows read and delivered, rows/s, retries and, when the input's
    size is known, an ETA. On a terminal it redraws one line; elsewhere it logs a line."""

    def __init__(self, ledger: Ledger, share_read: Callable[[], float | None], *,
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
