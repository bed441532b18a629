"""Fixtures of the Spark tests: one local Spark (2 threads, 4 attempts a task) bound to loopback for the
whole run, the sandbox on a free loopback port per test, and the key only in the environment."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from connector.sandbox import Sandbox

API_KEY = "spark-test-key-" + secrets.token_hex(8)     # in the executors' environment, as BRAZE_API_KEY
MASTER = "local[2,4]"    # local mode retries a failed task only when told how often: 4 attempts

LOOPBACK_ENV = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                "SPARK_LOCAL_IP": "127.0.0.1", "BRAZE_API_KEY": API_KEY}


def spark_builder(master: str, local_dir: str) -> Any:
    """A SparkSession builder for tests: loopback only, no UI, no progress bar."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName("braze-export-tests")
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.local.dir", local_dir).config("spark.sql.shuffle.partitions", "8"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local SparkSession for every Spark test; the JVM and its Python workers inherit the
    environment it starts with (the key included), which is then put back as it was."""
    saved = {name: os.environ.get(name) for name in LOOPBACK_ENV}
    os.environ.update(LOOPBACK_ENV)
    try:
        session = spark_builder(MASTER, str(tmp_path_factory.mktemp("spark-local"))).getOrCreate()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """BRAZE_API_KEY in this process too (connector.spark.write checks the config here first)."""
    monkeypatch.setenv("BRAZE_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def workdir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def events_frame(spark: Any, rows: int, partitions: int) -> Any:
    """`rows` custom events, one user each (external_id u<n>), in `partitions` partitions."""
    from pyspark.sql import functions as F

    return spark.range(rows, numPartitions=partitions).select(
        F.concat(F.lit("u"), F.col("id").cast("string")).alias("external_id"),
        F.lit("signup").alias("name"),
        F.to_timestamp(F.lit("2024-05-01 10:00:00")).alias("time"),
        (F.col("id") % 100).alias("score"))


def event_options(sandbox: Sandbox, workdir: Any, **more: Any) -> dict[str, Any]:
    return {"endpoint": sandbox.url, "api_key": "${BRAZE_API_KEY}", "mode": "user_track",
            "track_record_type": "custom_events", "reject_file": str(workdir / "rejected.jsonl"),
            "report": str(workdir / "report.json"), **more}
