"""Retry warnings: one JSON record each, or as text the first at once and the rest summed up."""

from __future__ import annotations

import io
import json

from connector.delivery.retrylog import RetryLog
from connector.logs import setup_logging


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_text_says_the_first_retry_then_sums_them_up_every_ten_seconds():
    stream, clock = io.StringIO(), Clock()
    setup_logging("text", stream)
    retries = RetryLog(json_logs=False, clock=clock)
    retries.retried(1, 6, "75 rows, from row 5 to 570", "HTTP 503", 0.8)
    for i in range(57):
        retries.retried(1, 6, f"75 rows, from row {i} to {i + 74}", "HTTP 503", 0.7)
    for _ in range(4):
        retries.retried(2, 6, "75 rows, from row 1 to 75", "connection lost before the answer (RemoteDisconnected)", 1.5)
    clock.now = 5.0
    retries.flush()                          # not yet ten seconds
    clock.now = 10.0
    retries.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("braze-export: warning: retry 1/6 of 75 rows, from row 5 to 570 after HTTP 503")
    assert lines[1] == ("braze-export: warning: 61 retries in the last 10 s (HTTP 503 x57, connection lost "
                        "before the answer (RemoteDisconnected) x4); the last: 75 rows, from row 1 to 75, "
                        "retry 2/6, waiting 1.50s")


def test_json_logs_one_record_per_retry():
    stream = io.StringIO()
    setup_logging("json", stream)
    retries = RetryLog(json_logs=True)
    for n in range(3):
        retries.retried(n + 1, 6, "row 9", "HTTP 429", 0.25)
    retries.flush(final=True)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["retry"] * 3
    assert [r["retry"] for r in records] == [1, 2, 3] and records[0]["cause"] == "HTTP 429"
