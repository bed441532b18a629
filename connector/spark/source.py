"""The PySpark Python Data Source `braze`: `df.write.format("braze").option(...).mode("append").save()`.

Spark runs `writer()` on the driver (the options become a `SparkJob`, checked with the
DataFrame's columns before any task starts), `write()` once per task on an executor (the
partition's Arrow batches through connector/spark/task.py), then `commit()` or `abort()` on the
driver with the tasks' messages (connector/spark/commit.py). The only module that imports pyspark.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyspark import TaskContext
from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from connector.errors import ConfigError
from connector.pipeline import prepare
from connector.spark.budget import CONF_KEYS
from connector.spark.commit import finish
from connector.spark.options import SparkJob, parse_options
from connector.spark.task import TaskInfo, TaskOutcome, run_task

NAME = "braze"


@dataclass
class BrazeCommitMessage(WriterCommitMessage):
    """What a task hands the driver: its outcome (counts, error, rejected rows)."""

    outcome: TaskOutcome


class BrazeDataSource(DataSource):
    """Writes a DataFrame's rows into Braze, as the connector's config says (docs/spark.md)."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def writer(self, schema: StructType, overwrite: bool) -> "BrazeWriter":
        if overwrite:
            raise ConfigError("mode overwrite: Braze cannot be emptied before a write; use mode('append')")
        job = parse_options(dict(self.options), os.getcwd())
        settings = job.settings()
        columns = list(schema.fieldNames())
        prepare(settings, columns)      # the header check: a column the mode needs is missing, ...
        return BrazeWriter(job, columns)


class BrazeWriter(DataSourceArrowWriter):
    """Pickled on the driver, run once per task; carries the job, never the key."""

    def __init__(self, job: SparkJob, columns: list[str]) -> None:
        self.job = job
        self.columns = columns

    def write(self, iterator: Iterator[Any]) -> BrazeCommitMessage:
        context = TaskContext.get()
        assert context is not None, "write() runs in a Spark task"
        info = TaskInfo(context.partitionId(), context.attemptNumber(),
                        {key: context.getLocalProperty(key) for key in CONF_KEYS})
        return BrazeCommitMessage(run_task(self.job, info, iterator, self.columns))

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        done = finish(self.job, _outcomes(messages), aborted=False)
        if done.error is not None:
            raise done.error

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        finish(self.job, _outcomes(messages), aborted=True)


def _outcomes(messages: list[WriterCommitMessage | None]) -> list[TaskOutcome | None]:
    return [m.outcome if isinstance(m, BrazeCommitMessage) else None for m in messages]


def register(spark: Any) -> None:
    """Make `format("braze")` known to this SparkSession (once: Spark warns on every new register)."""
    if getattr(spark, "_braze_export_registered", False):
        return
    spark.dataSource.register(BrazeDataSource)
    spark._braze_export_registered = True
