"""Spark: the `braze` Python Data Source and `write(df, config, **options) -> Report` (docs/spark.md).

Importing this package does not import pyspark; `connector.spark.source` (the data source
classes) and `write` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.api import Report

__all__ = ["register", "write"]


def write(df: Any, config: Any = None, **options: Any) -> "Report":
    """Write a DataFrame into Braze and return the write's Report (connector/spark/caller.py)."""
    from connector.spark.caller import write as _write

    return _write(df, config, **options)


def register(spark: Any) -> None:
    """Make `df.write.format("braze")` known to a SparkSession."""
    from connector.spark.source import register as _register

    _register(spark)
