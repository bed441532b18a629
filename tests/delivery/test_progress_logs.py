"""The progress line, the JSON log format, and the summary fields."""

from __future__ import annotations

import io
import json
import logging
import threading

from connector.logs import setup_logging
from connector.progress import Progress
from connector.outcomes import Settlement
from connector.outcomes.ledger import Ledger
from connector.rows import Entry


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TtyStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.wrote = threading.Event()

    def isatty(self):
        return True

    def write(self, text):
        n = super().write(text)
        if self.getvalue().count("\r\x1b[K") >= 2:
            self.wrote.set()
        return n


def _ledger(clock, read, delivered, retries=0):
    ledger = Ledger(clock=clock)
    for _ in range(read):
        ledger.read()
    ledger.settled(Settlement(delivered=[Entry(n, None) for n in range(delivered)]))
    for _ in range(retries):
        ledger.retry()
    return ledger


def test_progress_line_has_rate_retries_and_eta():
    clock = Clock()
    ledger = _ledger(clock, 1500, 1000, retries=2)
    clock.now = 2.0
    line = Progress(ledger, lambda: 0.25, stream=io.StringIO()).line()
    # 1,500 rows read at 25% of the input: 6,000 in all, 5,000 still to deliver at 500 rows/s.
    assert line == "1,500 rows read, 1,000 delivered, 500 rows/s; 2 retries, ETA 10s"
    assert "ETA" not in Progress(ledger, lambda: None, stream=io.StringIO()).line()


def test_progress_redraws_one_line_on_a_terminal():
    clock = Clock()
    ledger = _ledger(clock, 10, 10)
    clock.now = 1.0
    stream = TtyStream()
    with Progress(ledger, lambda: None, stream=stream, interval=0.01):
        assert stream.wrote.wait(5)
    text = stream.getvalue()
    assert "\n" not in text and text.endswith("\r\x1b[K")
    assert "10 rows read, 10 delivered" in text


def test_json_logs_carry_fields():
    stream = io.StringIO()
    log = setup_logging("json", stream=stream)
    try:
        log.warning("retry %d", 1)
        log.info("done", extra={"fields": {"event": "summary", "rows_read": 3}})
    finally:
        setup_logging("text")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "warning" and first["message"] == "retry 1"
    assert second["event"] == "summary" and second["rows_read"] == 3 and second["time"].endswith("+00:00")


def test_text_logs_prefix():
    stream = io.StringIO()
    log = setup_logging("text", stream=stream)
    try:
        log.info("hello")
        log.error("bad")
    finally:
        setup_logging("text")
    assert stream.getvalue().splitlines() == ["braze-export: hello", "braze-export: error: bad"]
    assert logging.getLogger("braze_export").propagate is False


def test_progress_line_shows_the_pace_against_the_budget_in_flight_and_latency():
    from types import SimpleNamespace

    clock = Clock()
    ledger = _ledger(clock, 7500, 7500)
    for _ in range(100):
        ledger.request(latency_s=0.1)
    clock.now = 1.0
    progress = Progress(ledger, lambda: None, stream=io.StringIO())
    live = SimpleNamespace(in_flight=12, limit=16, latency_s=0.098, budget_per_second=1000.0)
    progress.watch(SimpleNamespace(live=lambda: live))
    figures = progress.figures()
    assert (figures["requests_per_second"], figures["budget_share"], figures["in_flight"]) == (100.0, 0.1, 12)
    assert progress.line(figures) == ("7,500 rows read, 7,500 delivered, 7,500 rows/s; 100 requests/s of 1,000 "
                                      "allowed, 12 in flight, latency 98 ms; 0 retries")
