"""Spark's column types mapped as the typed sources map them; invalid rows skipped, or failing the
write with the row named; configs and columns refused on the driver, before any request."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

import connector.spark
from conftest import event_options, events_frame

from connector.errors import ConfigError, HeaderError, JobError


def attribute_options(sandbox, workdir, **more):
    return {**event_options(sandbox, workdir, **more), "track_record_type": "user_profile_attributes"}


def test_spark_types_become_braze_values_and_binary_is_an_invalid_row(spark, sandbox, workdir, key_env):
    from pyspark.sql.types import (ArrayType, BinaryType, DateType, DecimalType, IntegerType, MapType,
                                   StringType, StructField, StructType, TimestampType)

    schema = StructType([
        StructField("external_id", StringType()), StructField("amount", DecimalType(10, 2)),
        StructField("points", DecimalType(10, 2)), StructField("seen", TimestampType()),
        StructField("born", DateType()), StructField("tags", ArrayType(StringType())),
        StructField("address", StructType([StructField("city", StringType()), StructField("zip", IntegerType())])),
        StructField("prefs", MapType(StringType(), IntegerType())), StructField("blob", BinaryType())])
    seen = datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc)
    rows = [("u1", Decimal("12.50"), Decimal("7.00"), seen, date(1990, 2, 3), ["a", "b"], ("Oslo", 150),
             {"email": 1}, None),
            ("u2", None, None, None, None, [], None, {}, bytearray(b"\x00\x01"))]
    df = spark.createDataFrame(rows, schema).repartition(2)

    report = connector.spark.write(df, **{**attribute_options(sandbox, workdir, skip_on_invalid_records=True),
                                          "reject_file": "rejected.jsonl"})   # the caller's working folder

    assert (report.status, report.rows_read, report.rows_delivered, report.rows_skipped) == ("partial", 2, 1, 1)
    attributes = sandbox.user(external_id="u1")["attributes"]
    assert attributes["amount"] == 12.5 and attributes["points"] == 7
    assert datetime.fromisoformat(attributes["seen"].replace("Z", "+00:00")) == seen
    assert attributes["born"].startswith("1990-02-03")
    assert attributes["tags"] == ["a", "b"] and attributes["address"] == {"city": "Oslo", "zip": 150}
    assert attributes["prefs"] == {"email": 1}
    assert sandbox.user(external_id="u2") is None
    [line] = (workdir / "rejected.jsonl").read_text().splitlines()
    rejected = json.loads(line)
    assert rejected["outcome"] == "skipped" and "column blob" in rejected["reason"]
    assert rejected["row"] in (1, 2) and rejected["values"]["external_id"] == "u2"
    assert "partition" in rejected and "__braze_spark_row_key" not in rejected["values"]


def with_bad_names(spark, rows, partitions, bad):
    """Events whose `name` is null on the rows whose id is in `bad`."""
    from pyspark.sql import functions as F

    df = events_frame(spark, rows, partitions)
    return df.withColumn("name", F.when(F.col("score").isin(*bad) & (F.col("external_id") != "u0"),
                                        F.lit(None)).otherwise(F.col("name")))


def test_invalid_rows_are_skipped_into_one_file_when_skipping_is_on(spark, sandbox, workdir, key_env):
    df = with_bad_names(spark, 4_000, 4, bad=[7])      # 40 rows: score 7

    report = connector.spark.write(df, **event_options(sandbox, workdir, skip_on_invalid_records=True))

    assert (report.rows_read, report.rows_delivered, report.rows_skipped, report.exit_code) == (4_000, 3_960, 40, 0)
    assert len(sandbox.received("/users/track")) == 3_960
    lines = [json.loads(line) for line in (workdir / "rejected.jsonl").read_text().splitlines()]
    assert len(lines) == 40 and {r["outcome"] for r in lines} == {"skipped"}
    assert all("column name" in r["reason"] and r["values"]["score"] == 7 for r in lines)
    assert lines == sorted(lines, key=lambda r: (r["partition"], r["row"]))
    assert {r["values"]["external_id"] for r in lines} == {f"u{n}" for n in range(4_000) if n % 100 == 7}


def test_an_invalid_row_fails_the_write_naming_its_partition_row_and_column(spark, sandbox, workdir, key_env):
    df = with_bad_names(spark, 2_000, 4, bad=[42]).filter("external_id != 'u1542'")    # 19 bad rows

    with pytest.raises(JobError, match=r"partition \d+, row \d+, column name: ") as failed:
        connector.spark.write(df, raise_on_failure=True, **event_options(sandbox, workdir))

    report = failed.value.report
    assert report.status == "failed" and report.exit_code == 1 and report.rows_failed >= 1
    assert report.rows_read == report.rows_delivered + report.rows_skipped + report.rows_rejected + report.rows_failed
    written = json.loads((workdir / "report.json").read_text())
    assert written["rows_failed"] == report.rows_failed and written["error"] == report.error
    failed_rows = [json.loads(line) for line in (workdir / "rejected.jsonl").read_text().splitlines()]
    named = [r for r in failed_rows if r["reason"].startswith("invalid row")]
    assert named and all(r["values"]["score"] == 42 for r in named)
    assert len(sandbox.received("/users/track")) == report.rows_delivered


def test_the_plain_writer_raises_what_the_tasks_found(spark, sandbox, workdir, key_env):
    from pyspark.errors import PySparkException
    from py4j.protocol import Py4JJavaError

    df = with_bad_names(spark, 400, 2, bad=[3])
    writer = df.write.format("braze").mode("append")
    for key, value in event_options(sandbox, workdir).items():
        writer = writer.option(key, value)
    connector.spark.register(spark)
    with pytest.raises((PySparkException, Py4JJavaError), match=r"partition \d+, row \d+, column name: "):
        writer.save()
    assert json.loads((workdir / "report.json").read_text())["status"] == "failed"


def test_bad_configs_and_columns_are_refused_before_any_request(spark, sandbox, workdir, key_env):
    df = events_frame(spark, 10, 1)
    with pytest.raises(ConfigError) as literal:
        connector.spark.write(df, **{**event_options(sandbox, workdir), "api_key": "plain-key-1234"})
    assert "plain-key-1234" not in str(literal.value) and "api_key_file" in str(literal.value)
    with pytest.raises(HeaderError, match="name"):
        connector.spark.write(df.drop("name"), **event_options(sandbox, workdir))
    with pytest.raises(ConfigError, match="state_file: on Spark"):
        connector.spark.write(df, **event_options(sandbox, workdir, state_file="s.sqlite"))
    with pytest.raises(ConfigError, match="batch_size"):
        connector.spark.write(df, **event_options(sandbox, workdir, batch_size="many"))
    assert sandbox.stats()["requests"] == 0


def test_when_one_task_aborts_the_write_the_others_stop_sending(spark, sandbox, workdir, key_env):
    from pyspark.sql import functions as F

    rows = 4_000     # 4 partitions of 1,000 rows, at 100 requests/s of 10 rows: 4 s if nobody stopped
    df = events_frame(spark, rows, 4).withColumn(
        "name", F.when(F.col("external_id") == "u5", F.lit(None)).otherwise(F.col("name")))

    report = connector.spark.write(df, **event_options(sandbox, workdir, requests_per_second=100, batch_size=10))

    written = json.loads((workdir / "report.json").read_text())
    assert written["partition_errors"] == [report.error] and report.error.startswith("partition 0, row 6, column name")
    assert report.rows_delivered < rows / 4, "the other tasks went on sending"
    assert len(sandbox.received("/users/track")) == report.rows_delivered
    stopped = [json.loads(line) for line in (workdir / "rejected.jsonl").read_text().splitlines()]
    assert any("stopped: partition 0 aborted the write" in r["reason"] for r in stopped)
    assert report.rows_read == report.rows_delivered + report.rows_failed


def test_an_empty_dataframe_is_a_write_of_no_rows(spark, sandbox, workdir, key_env):
    report = connector.spark.write(events_frame(spark, 0, 2), **event_options(sandbox, workdir))
    assert (report.status, report.rows_read, report.exit_code, sandbox.stats()["requests"]) == ("success", 0, 0, 0)
