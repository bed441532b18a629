"""The Spark data source against one process: rows of a DataFrame through `braze` into a loopback sink,
next to `connector.export` over the same rows in this one Python process.

    python bench/spark_bench.py [--rows 1000000] [--cases attributes,events] [--partitions 8]
                                [--master local[2]] [--sink nginx|sandbox] [--runs 1]

Per case (bench/bench_data.py's CSV, generated once per size): Spark (local, loopback only, no UI)
reads the CSV with its declared types, repartitions it and caches it (counted, not timed); then,
against a fresh sink each time, the write `connector.spark.write(df, ...)` (its wall time: the
driver's planning, every task, the commit) and `connector.export(rows, config)` over the same CSV
read with csv.DictReader and the same types (its wall time includes that reading). Both with
`requests_per_second: 100000` (the rate limit lifted). Every run is checked: every row delivered,
the sink's request count equal to the report's. Writes bench/out/spark-results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_data import CASES, Case, ensure_data  # noqa: E402
from bench_sinks import Sink, SinkError  # noqa: E402

OUT = HERE / "out"
KEY = "bench-key"
SPARK_TYPES = {"long": "long", "double": "double", "boolean": "boolean"}
CONVERT = {"long": int, "double": float, "boolean": lambda text: text == "true"}


def session(master: str, local_dir: str) -> Any:
    os.environ.update({"PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "BRAZE_API_KEY": KEY})
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("braze-export-bench")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.local.dir", local_dir).config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def frame(spark: Any, case: Case, path: Path, partitions: int) -> Any:
    schema = ", ".join(f"`{name}` {SPARK_TYPES.get(case.columns.get(name, ''), 'string')}" for name in case.header)
    df = spark.read.csv(str(path), header=True, schema=schema).repartition(partitions).cache()
    df.count()
    return df


def config(case: Case, url: str, reject_file: str) -> dict[str, Any]:
    return {"endpoint": url, "api_key": "${BRAZE_API_KEY}", "mode": case.mode,
            **({"track_record_type": case.track_record_type} if case.track_record_type else {}),
            "requests_per_second": 100000, "reject_file": reject_file}


def csv_rows(case: Case, path: Path) -> Iterator[dict[str, Any]]:
    """The CSV's rows with the case's declared types, as Spark reads them."""
    converters = {name: CONVERT[kind] for name, kind in case.columns.items()}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for name, convert in converters.items():
                row[name] = convert(row[name])
            yield row


def measured(kind: str, sink_kind: str, rows: int, run: Any) -> dict[str, Any]:
    """One run against a fresh sink, checked: every row delivered, the sink's count the report's."""
    with Sink(sink_kind, key=KEY) as sink:
        started = time.perf_counter()
        report = run(sink.url)
        wall = time.perf_counter() - started
    _, answered, ok = sink.stats()
    sink.cleanup()
    if report.rows_delivered != rows or ok != report.requests or answered != report.requests:
        raise SystemExit(f"bench: {kind}: {report.rows_delivered} of {rows} rows delivered, "
                         f"{ok}/{answered} requests answered, {report.requests} in the report")
    return {"wall_s": round(wall, 3), "rows_per_s": round(rows / wall), "requests": report.requests,
            "report_elapsed_s": report.elapsed_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/spark_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cases", default="attributes,events")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--sink", choices=("nginx", "sandbox"), default="nginx")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    import connector
    import connector.spark

    OUT.mkdir(exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        spark = session(args.master, tmp)
        try:
            for name in args.cases.split(","):
                case = CASES[name]
                path = ensure_data(OUT, case, args.rows)
                df = frame(spark, case, path, args.partitions)
                rejects = os.path.join(tmp, "rejected.jsonl")
                spark_runs, export_runs = [], []
                for _ in range(args.runs):    # interleaved, so both see the same machine
                    spark_runs.append(measured("spark", args.sink, args.rows, lambda url: connector.spark.write(
                        df, **config(case, url, rejects))))
                    export_runs.append(measured("export", args.sink, args.rows, lambda url: connector.export(
                        csv_rows(case, path), config(case, url, rejects))))
                df.unpersist()
                row = {"case": name, "rows": args.rows, "partitions": args.partitions, "master": args.master,
                       "spark_rows_per_s": statistics.median(r["rows_per_s"] for r in spark_runs),
                       "export_rows_per_s": statistics.median(r["rows_per_s"] for r in export_runs),
                       "spark": spark_runs, "export": export_runs}
                results.append(row)
                print(f"{name}: spark {row['spark_rows_per_s']:.0f} rows/s, export {row['export_rows_per_s']:.0f} rows/s",
                      file=sys.stderr, flush=True)
        except SinkError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            spark.stop()
    (OUT / "spark-results.json").write_text(json.dumps({"sink": args.sink, "cpus": os.cpu_count(),
                                                        "results": results}, indent=2))
    print(f"{'case':<12}{'rows':>9}{'spark r/s':>11}{'spark s':>9}{'export r/s':>12}{'export s':>10}{'ratio':>7}")
    for r in results:
        s, e = r["spark"][0], r["export"][0]
        print(f"{r['case']:<12}{r['rows']:>9}{r['spark_rows_per_s']:>11.0f}{s['wall_s']:>9.1f}"
              f"{r['export_rows_per_s']:>12.0f}{e['wall_s']:>10.1f}{r['spark_rows_per_s'] / r['export_rows_per_s']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
