"""Spark's retries: a task that fails once after delivering rows is retried by Spark and sends none
of them again; a partition that fails every attempt aborts the write, and the report says which."""

from __future__ import annotations

import json
import re
from collections import Counter

import connector.spark
from conftest import event_options, events_frame

ROWS, PARTITIONS, FAIL_AFTER = 20_000, 8, 300


def test_a_retried_task_resends_no_event_its_failed_attempt_delivered(spark, sandbox, workdir, key_env):
    df = events_frame(spark, ROWS, PARTITIONS)

    report = connector.spark.write(df, _fail_first_attempt_after=FAIL_AFTER, **event_options(sandbox, workdir))

    received = Counter(r["object"]["external_id"] for r in sandbox.received("/users/track"))
    assert len(received) == ROWS and set(received.values()) == {1}, "an event was delivered twice, or lost"
    assert (report.status, report.rows_read, report.rows_delivered) == ("success", ROWS, ROWS)
    # every first attempt failed once FAIL_AFTER rows were delivered; its retry counted them, unsent
    assert report.rows_duplicate >= PARTITIONS * FAIL_AFTER
    assert sandbox.stats()["objects_received"] == ROWS


def test_a_partition_failing_every_attempt_aborts_the_write_and_is_named(spark, sandbox, workdir, key_env):
    from pyspark.sql import functions as F

    df = events_frame(spark, 4_000, 4).withColumn(
        "score", F.when(F.col("external_id") == "u3999", F.raise_error(F.lit("upstream broke")))
        .otherwise(F.col("score")))

    report = connector.spark.write(df, **event_options(sandbox, workdir))

    assert report.status == "failed" and report.exit_code == 1
    written = json.loads((workdir / "report.json").read_text())
    # the rows' own computation failed in the JVM: the Python side sees their stream break; tasks
    # Spark stopped when it gave up on the write have no outcome
    [problem] = [p for p in written["partition_errors"] if p.startswith("partition 3")]
    others = set(written["partition_errors"]) - {problem}
    assert all(p.endswith(": no outcome (its task failed or was stopped)") for p in others)
    assert re.match(r"partition 3: failed in attempt \d \(the partition's rows stopped coming from Spark", problem)
    assert written["rows_read"] == (written["rows_delivered"] + written["rows_skipped"] + written["rows_rejected"]
                                    + written["rows_failed"])
    delivered = Counter(r["object"]["external_id"] for r in sandbox.received("/users/track"))
    assert set(delivered.values()) <= {1}
