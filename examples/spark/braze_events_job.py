"""A Databricks-style job: one day's purchases from a table into Braze as custom events.

On Databricks (a Python wheel or notebook task, `braze-export[spark]` installed on the cluster):

    python braze_events_job.py --table sales.purchases --day 2024-05-01 \\
        --config /Workspace/Shared/braze/braze.yml --report /dbfs/braze/reports/2024-05-01.json \\
        --state-folder /mnt/shared-nfs/braze-state

The job names its write after the day (job_id), so a rerun of a failed day sends none of the
events the failed run delivered (docs/spark.md, "Retries"); the state folder must be storage every
executor mounts with file locks and random writes (an NFS/EFS mount; not /dbfs or /Volumes).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import connector.spark


def purchases_as_events(spark: Any, table: str, day: str) -> Any:
    """The day's purchases, one custom event each: the columns the custom_events mode takes."""
    from pyspark.sql import functions as F

    return (spark.table(table)
            .where(F.to_date("purchased_at") == F.lit(day))
            .select(F.col("customer_id").alias("external_id"),
                    F.lit("purchased").alias("name"),
                    F.col("purchased_at").alias("time"),
                    F.col("sku"), F.col("amount"), F.col("store")))


def main(spark: Any, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--day", required=True, help="YYYY-MM-DD")
    parser.add_argument("--config", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--state-folder", default=None)
    parser.add_argument("--endpoint", default=None, help="overrides the config's (e.g. a sandbox URL)")
    args = parser.parse_args(argv)
    options = {"endpoint": args.endpoint} if args.endpoint else {}
    if args.state_folder:
        options["state_folder"] = args.state_folder
    report = connector.spark.write(purchases_as_events(spark, args.table, args.day), args.config,
                                   report=args.report, job_id=f"purchases-{args.day}", **options)
    print(f"{report.status}: {report.rows_read} rows, {report.rows_delivered} delivered, "
          f"{report.rows_skipped} skipped, {report.rows_rejected} rejected, {report.rows_failed} failed")
    return report.exit_code


if __name__ == "__main__":
    from pyspark.sql import SparkSession

    sys.exit(main(SparkSession.builder.getOrCreate(), sys.argv[1:]))
