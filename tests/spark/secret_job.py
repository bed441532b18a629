"""A Spark application run by test_spark_secrets.py in its own process: writes through `braze` with the
key in the environment and in a key file, fails one write, and dumps what Spark's UI serves.

    python secret_job.py SANDBOX_URL KEY_FILE WORK_DIR EVENT_LOG_DIR
"""

from __future__ import annotations

import json
import sys
import urllib.request

from conftest import LOOPBACK_ENV, events_frame, spark_builder

from connector.errors import JobError


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:     # noqa: S310 - Spark's UI on 127.0.0.1
        return answer.read().decode("utf-8", "replace")


def log_everything_at_info(spark) -> None:
    """Spark's shell-style filter keeps the console at WARN whatever the level: take it off."""
    jvm = spark.sparkContext._jvm
    spark.sparkContext.setLogLevel("INFO")
    for appender in jvm.org.apache.logging.log4j.LogManager.getContext(False).getConfiguration().getAppenders().values():
        if appender.getFilter() is not None:
            appender.removeFilter(appender.getFilter())


def main(url: str, key_file: str, work: str, event_log: str) -> int:
    import connector.spark

    spark = (spark_builder("local[2]", f"{work}/local").config("spark.ui.enabled", "true")
             .config("spark.ui.port", "0").config("spark.eventLog.enabled", "true")
             .config("spark.eventLog.dir", event_log).config("spark.eventLog.compress", "false").getOrCreate())
    log_everything_at_info(spark)
    base = {"endpoint": url, "mode": "user_track", "track_record_type": "custom_events",
            "reject_file": f"{work}/rejected.jsonl"}
    df = events_frame(spark, 3_000, 4)
    df.explain(extended=True)
    connector.spark.register(spark)
    writer = df.write.format("braze").mode("append")
    for key, value in {**base, "api_key": "${BRAZE_API_KEY}", "report": f"{work}/env.json"}.items():
        writer = writer.option(key, value)
    writer.save()
    by_file = connector.spark.write(events_frame(spark, 1_000, 2), api_key_file=key_file,
                                    report=f"{work}/file.json", **base)
    print("by file:", by_file)
    try:
        connector.spark.write(df.where("id < 10").drop("name").withColumn("name", df.external_id.substr(99, 1)),
                              api_key="${BRAZE_API_KEY}", raise_on_failure=True, report=f"{work}/bad.json", **base)
    except JobError as exc:
        print("failed as it should:", exc)
    ui = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    pages = {path: fetch(f"{ui}{path}") for path in (
        "/jobs/", "/stages/", "/environment/", "/executors/", "/SQL/",
        f"/api/v1/applications/{app}/environment", f"/api/v1/applications/{app}/jobs",
        f"/api/v1/applications/{app}/stages?details=true", f"/api/v1/applications/{app}/executors",
        f"/api/v1/applications/{app}/sql?details=true&planDescription=true")}
    for n in range(4):
        pages[f"/SQL/execution/?id={n}"] = fetch(f"{ui}/SQL/execution/?id={n}")
    with open(f"{work}/ui.json", "w", encoding="utf-8") as f:
        json.dump(pages, f)
    spark.stop()
    return 0


if __name__ == "__main__":
    import os

    os.environ.update({k: v for k, v in LOOPBACK_ENV.items() if k != "BRAZE_API_KEY"})
    sys.exit(main(*sys.argv[1:5]))
