"""examples/spark/braze_events_job.py runs as documented: a table's day of purchases into the sandbox,
and a rerun of the same day (same job_id) sends none of them again."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spark"


def load_job():
    spec = importlib.util.spec_from_file_location("braze_events_job", EXAMPLE / "braze_events_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_job_sends_a_day_of_purchases_once(spark, sandbox, workdir, key_env):
    rows = [(f"c{n % 40}", datetime(2024, 5, 1 + n % 2, 9, n % 60), f"sku-{n}", n * 1.5, "oslo")
            for n in range(300)]
    spark.createDataFrame(rows, "customer_id string, purchased_at timestamp, sku string, amount double, "
                                "store string").repartition(3).createOrReplaceTempView("purchases")
    job = load_job()
    argv = ["--table", "purchases", "--day", "2024-05-01", "--config", str(EXAMPLE / "braze.yml"),
            "--report", str(workdir / "day.json"), "--state-folder", str(workdir / "state"),
            "--endpoint", sandbox.url]

    assert job.main(spark, argv) == 0
    assert job.main(spark, argv) == 0      # the rerun of the same day

    received = [r["object"] for r in sandbox.received("/users/track")]
    assert len(received) == 150 and len({o["properties"]["sku"] for o in received}) == 150
    report = json.loads((workdir / "day.json").read_text())
    assert (report["rows_read"], report["rows_delivered"], report["rows_duplicate"]) == (150, 150, 150)
    assert report["job_id"] == "purchases-2024-05-01"
