"""Log lines for people (text) or for container platforms (JSON)."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import threading
from typing import TextIO

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


TERMINAL = threading.Lock()     # the progress line and log lines take turns on a terminal


def clear_line(stream: TextIO, text: str = "") -> None:
    """On a terminal: erase the progress line (and draw `text` in its place)."""
    with TERMINAL:
        stream.write("\r\x1b[K" + text)
        stream.flush()


class _TerminalHandler(logging.StreamHandler):
    """On a terminal, a log line first erases the progress line (which is drawn again after)."""

    def emit(self, record: logging.LogRecord) -> None:
        with TERMINAL:
            if self.stream.isatty():
                self.stream.write("\r\x1b[K")
            super().emit(record)


def setup_logging(fmt: str = "text", stream: TextIO | None = None, level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = _TerminalHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def json_logging() -> bool:
    """Whether the product's log lines are JSON records (for machines) rather than text."""
    return any(isinstance(h.formatter, _JsonFormatter) for h in logging.getLogger(LOGGER).handlers)
