"""200,000 rows of a DataFrame in 8 partitions into the sandbox over HTTP: each delivered once, one report."""

from __future__ import annotations

import json
from collections import Counter

import connector.spark
from conftest import event_options, events_frame

ROWS, PARTITIONS = 200_000, 8


def test_every_row_is_delivered_once_with_one_exact_report(spark, sandbox, workdir, key_env):
    df = events_frame(spark, ROWS, PARTITIONS)

    report = connector.spark.write(df, **event_options(sandbox, workdir))

    received = Counter(r["object"]["external_id"] for r in sandbox.received("/users/track"))
    assert len(received) == ROWS and set(received.values()) == {1}
    assert received.keys() == {f"u{n}" for n in range(ROWS)}
    assert (report.status, report.rows_read, report.rows_delivered, report.exit_code) == ("success", ROWS, ROWS, 0)
    assert report.rows_skipped == report.rows_rejected == report.rows_failed == 0
    written = json.loads((workdir / "report.json").read_text())
    assert written["rows_read"] == written["rows_delivered"] == ROWS
    assert written["partitions"] == PARTITIONS and written["tasks_at_once"] == 2
    assert written["requests"] == sandbox.stats()["requests"]
    assert not (workdir / "rejected.jsonl").exists()
