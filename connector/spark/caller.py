"""`connector.spark.write(df, config, **options) -> Report`: the write from Python, with its report.

It checks the options and the DataFrame's columns in the caller's process first (a bad config is
raised as ConfigError / HeaderError, nothing sent), tells the tasks how many of them run at once
(min(partitions, the cluster's default parallelism)), runs `df.write.format("braze")`, and returns
the `Report` the driver's commit wrote (to a temp file when no `report` path is given).
Relative paths (the config, reject_file, api_key_file, state_folder) are taken from the
caller's working folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from connector.api import Report
from connector.errors import JobError
from connector.pipeline import JobResult, prepare
from connector.spark.options import check_key_option, parse_options


def _text(value: Any) -> str:
    """A Python option value as the text Spark carries: JSON for booleans, numbers and structures."""
    return value if isinstance(value, str) else json.dumps(value)


def _tasks_at_once(df: Any) -> int | None:
    """min(the DataFrame's partitions, the cluster's default parallelism); None where Spark cannot say."""
    from pyspark.errors import PySparkException

    try:
        return max(1, min(df.rdd.getNumPartitions(), df.sparkSession.sparkContext.defaultParallelism))
    except (PySparkException, AttributeError):   # Spark Connect has neither
        return None


def write(df: Any, config: str | os.PathLike[str] | None = None, *, report: str | os.PathLike[str] | None = None,
          raise_on_failure: bool = False, **options: Any) -> Report:
    """Write the DataFrame's rows into Braze; the write's Report (status "failed" when it failed,
    unless `raise_on_failure`, which raises its JobError with the Report as `report`)."""
    from pyspark.errors import PySparkException
    from py4j.protocol import Py4JJavaError

    from connector.spark.source import NAME, register

    texts = {key: _text(value) for key, value in options.items() if value is not None}
    if "api_key" in texts:
        check_key_option(texts["api_key"])
    if config is not None:
        texts["config"] = os.path.abspath(config)
    texts.setdefault("base_dir", os.getcwd())     # relative paths are the caller's, not the driver worker's
    if "tasks_at_once" not in texts and (tasks := _tasks_at_once(df)) is not None:
        texts["tasks_at_once"] = str(tasks)
    with tempfile.TemporaryDirectory(prefix="braze-spark-") as tmp:
        texts["report"] = os.path.abspath(report) if report is not None else os.path.join(tmp, "report.json")
        job = parse_options(texts, os.getcwd())
        prepare(job.settings(), list(df.columns))
        register(df.sparkSession)
        failure: Exception | None = None
        try:
            df.write.format(NAME).options(**texts).mode("append").save()
        except (PySparkException, Py4JJavaError) as exc:
            failure = exc
        outcome = _read_report(texts["report"])
    if outcome is None:     # the write failed before the driver's commit or abort ran
        raise JobError(f"the Spark write failed before its tasks reported: {_first_line(failure)}") from None
    result = Report.from_result(JobResult(int(outcome.get("exit_code", 1)), outcome))
    if raise_on_failure and result.status == "failed":
        error = JobError(result.error or "the Spark write failed")
        error.report = result  # type: ignore[attr-defined]
        raise error
    return result


def _read_report(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "no report").strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
