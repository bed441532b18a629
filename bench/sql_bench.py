"""Throughput and memory of the sql input: attribute rows from a real PostgreSQL into a loopback sink.

    python bench/sql_bench.py [--rows 1000000,5000000] [--runs 1] [--sink nginx|sandbox]
                              [--set KEY=JSON ...] [--read-only]

Starts a PostgreSQL server in a temp folder (tests/support/postgres.py), fills one table per size
with the attributes case's rows (7 columns, as bench/bench_data.py: external_id, email,
first_name, country, loyalty_points bigint, is_vip boolean, signup_source), then runs
`python -m connector run` under /usr/bin/time -v with `input: {format: sql, url: ${DATABASE_URL},
query: SELECT * FROM the table}` against a fresh sink per run. rows/s is rows_delivered /
elapsed_seconds from the report; peak RSS is the connector's (the server is not its child).
--read-only also times the source alone (open_source + iteration, no writer, no HTTP).
Writes bench/out/sql-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_data import CASES  # noqa: E402
from bench_measure import REPO, TIME, BenchError, run_product, timed  # noqa: E402
from bench_sinks import SinkError  # noqa: E402
from run import parse_sets  # noqa: E402
from support.postgres import Postgres, running_postgres  # noqa: E402

OUT = HERE / "out"
TARGET_ROWS_S = 75_000
TARGET_RSS_MB = 150
# The attributes case of bench_data.py, made by the server itself (deterministic, no client-side load).
FILL = """
CREATE UNLOGGED TABLE {table} AS
SELECT 'user-' || lpad(i::text, 8, '0') AS external_id,
       lower(first) || '.' || i || '@example.com' AS email,
       first AS first_name,
       (ARRAY['US', 'DE', 'FR', 'JP', 'GB', 'BR', 'IN', 'CA'])[1 + (i * 7919) % 8] AS country,
       ((i * 2654435761) % 100000)::bigint AS loyalty_points,
       (i * 40503) % 5 = 0 AS is_vip,
       (ARRAY['web', 'ios', 'android', 'referral', 'ads'])[1 + (i * 104729) % 5] AS signup_source
FROM generate_series(1::bigint, {rows}::bigint) AS i,
     LATERAL (SELECT (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Dennis', 'Margaret', 'Linus',
                            'Guido'])[1 + i % 10] AS first) AS names
"""
READ_ONLY = """
import sys, time
from connector.config import parse_config
from connector.sources import open_source
settings = parse_config({"endpoint": "sandbox", "mode": "user_delete",
                         "input": {"format": "sql", "url": "${DATABASE_URL}", "query": sys.argv[1]}})
t0 = time.perf_counter()
with open_source(settings.input) as source:
    n = sum(1 for _ in source)
print(n, time.perf_counter() - t0)
"""


def fill(pg: Postgres, rows: int) -> str:
    table = f"bench_users_{rows}"
    if pg.query(f"SELECT count(*) FROM pg_tables WHERE tablename = '{table}'") == [(0,)]:
        pg.execute([FILL.format(table=table, rows=rows), f"ANALYZE {table}", f"GRANT SELECT ON {table} TO reader"])
    return table


def run_export(table: str, rows: int, sink_kind: str, run: int, extra: dict[str, Any]) -> dict[str, Any]:
    """One measured export of the table (bench_measure.run_product with the input replaced)."""
    sql_input = {"format": "sql", "url": "${DATABASE_URL}", "query": f"SELECT * FROM {table}"}
    m = run_product(OUT, CASES["attributes"], Path(table), rows, sink_kind, run, {**extra, "input": sql_input})
    return {"rows": rows, "rows_per_s": m.rows_per_s, "wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb,
            "requests": m.requests}


def run_read_only(table: str) -> dict[str, Any]:
    argv = [sys.executable, "-c", READ_ONLY, f"SELECT * FROM {table}"]
    proc, _, _, rss = timed(argv, REPO)
    if proc.returncode != 0:
        raise BenchError(f"the read-only run failed: {proc.stderr[-800:]}")
    count, seconds = proc.stdout.split()
    return {"rows": int(count), "rows_per_s": int(count) / float(seconds), "peak_rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/sql_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1000000,5000000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sink", choices=("nginx", "sandbox"), default="nginx")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--read-only", action="store_true", help="also time the source alone")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.rows.split(",") if s.strip()]
    if not os.path.exists(TIME):
        parser.error("needs /usr/bin/time (apt-get install -y time) and, for --sink nginx, nginx-light")
    OUT.mkdir(exist_ok=True)
    results = []
    try:
        with running_postgres() as pg:
            os.environ["DATABASE_URL"] = pg.url()
            for rows in sizes:
                table = fill(pg, rows)
                runs = [run_export(table, rows, args.sink, run, parse_sets(args.sets)) for run in range(args.runs)]
                row = {"rows": rows, "rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
                       "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "runs": runs}
                if args.read_only:
                    row["source_only"] = run_read_only(table)
                results.append(row)
                print(f"{rows}: {row['rows_per_s']:.0f} rows/s, peak RSS {row['peak_rss_mb']:.1f} MB",
                      file=sys.stderr, flush=True)
    except (BenchError, SinkError, subprocess.SubprocessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    (OUT / "sql-results.json").write_text(json.dumps({"sink": args.sink, "cpus": os.cpu_count(),
                                                      "results": results}, indent=2))
    print(f"{'rows':>9}{'rows/s':>10}{'RSS MB':>8}{'source r/s':>12}  misses")
    for r in results:
        misses = [name for name, ok in (("rows_per_s", r["rows_per_s"] >= TARGET_ROWS_S),
                                        ("peak_rss", r["peak_rss_mb"] <= TARGET_RSS_MB)) if not ok]
        source = f"{r['source_only']['rows_per_s']:>12.0f}" if "source_only" in r else f"{'-':>12}"
        print(f"{r['rows']:>9}{r['rows_per_s']:>10.0f}{r['peak_rss_mb']:>8.1f}{source}  {','.join(misses) or 'none'}")
    if len(results) > 1 and results[-1]["peak_rss_mb"] > results[0]["peak_rss_mb"] * 1.1:
        print("!! peak RSS grew with the row count", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
