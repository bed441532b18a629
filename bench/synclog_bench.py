"""Throughput with and without the sync log: the same export, interleaved, against a loopback sink.

    python bench/synclog_bench.py [--rows 1000000] [--runs 5] [--case attributes]
                                  [--db sqlite,postgres] [--set KEY=JSON ...] [--include-values]

Each round runs the case (bench/bench_data.py) once without a sync log and once per database
with `sync_log: {url: ...}` (a fresh SQLite file in bench/out/, or a table dropped before each run
in a PostgreSQL server started in a temp folder by tests/support/postgres.py), in a rotating
order so each sees the same machine. rows/s is rows_delivered / elapsed_seconds from the report
(the log's last flush and close are inside elapsed_seconds). CPU s is user + system time of the
export and its writer process (from /usr/bin/time -v), plus the PostgreSQL server's for the
postgres runs: on a shared machine rows/s moves with the neighbours' load, CPU seconds much less.
Every logged run is checked: the rows table holds exactly one row per input row for the report's
run_id, all delivered, and the runs table says success. Prints the medians, the ratio to the run
without the log and the extra CPU per row; writes bench/out/synclog-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_data import CASES, Case, ensure_data  # noqa: E402
from bench_measure import KEY, TIME, BenchError, timed, write_config  # noqa: E402
from bench_sinks import Sink, SinkError  # noqa: E402
from run import parse_sets  # noqa: E402

OUT = HERE / "out"
TARGET_RATIO = 0.90     # issue 17: within 10% of a run without the log
Counter = Callable[[str], tuple[int, int, str]]   # run_id -> (rows logged, delivered, run status)
_CPU = re.compile(r"(User|System) time \(seconds\): ([0-9.]+)")


def server_cpu(pg: Any) -> float:
    """CPU seconds the PostgreSQL server has used (its postmaster and the backends it reaped)."""
    pid = (pg.folder / "data" / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run_once(case: Case, data: Path, rows: int, run: int, extra: dict[str, Any]) -> dict[str, Any]:
    """One export under /usr/bin/time -v against a fresh nginx sink: rows/s, CPU seconds, the report."""
    report = OUT / f"report-synclog-{case.name}-{run}.json"
    report.unlink(missing_ok=True)
    with Sink("nginx", KEY) as sink:
        config = write_config(OUT, case, data, sink.url, extra)
        argv = [sys.executable, "-m", "connector", "run", "--config", str(config), "--report", str(report)]
        proc, _, wall, rss = timed(argv, OUT)
    first, answered, ok = sink.stats()
    sink.cleanup()
    if proc.returncode != 0 or not report.exists():
        raise BenchError(f"braze-export exit {proc.returncode}: {proc.stderr[-800:]}")
    r = json.loads(report.read_text())
    if r["rows_delivered"] != rows or answered != r["requests"]:
        raise BenchError(f"{r['rows_delivered']}/{rows} delivered, the sink answered {answered}/{r['requests']}")
    cpu = sum(float(v) for _, v in _CPU.findall(proc.stderr))     # the process and its writer process
    return {"rows_per_s": rows / r["elapsed_seconds"], "cpu_s": cpu, "rss_mb": rss, "report": r}


def _sqlite(rows: int) -> tuple[dict[str, Any], Counter, Callable[[], None]]:
    path = OUT / "synclog-bench.sqlite"

    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def count(run_id: str) -> tuple[int, int, str]:
        with sqlite3.connect(path) as conn:
            logged, delivered = conn.execute("SELECT count(*), sum(outcome = 'delivered') FROM braze_sync_log "
                                             "WHERE run_id = ?", (run_id,)).fetchone()
            status = conn.execute("SELECT status FROM braze_sync_runs WHERE run_id = ?", (run_id,)).fetchone()
        return logged, delivered or 0, status[0] if status else "missing"

    return {"url": f"sqlite:///{path}"}, count, reset


def _postgres(pg: Any) -> tuple[dict[str, Any], Counter, Callable[[], None]]:
    def reset() -> None:
        pg.execute(["DROP TABLE IF EXISTS braze_sync_log, braze_sync_runs"])

    def count(run_id: str) -> tuple[int, int, str]:
        logged, delivered = pg.query("SELECT count(*), count(*) FILTER (WHERE outcome = 'delivered') "
                                     f"FROM braze_sync_log WHERE run_id = '{run_id}'")[0]
        status = pg.query(f"SELECT status FROM braze_sync_runs WHERE run_id = '{run_id}'")
        return logged, delivered, status[0][0] if status else "missing"

    return {"url": pg.url()}, count, reset


def measure(case_name: str, rows: int, runs: int, databases: list[str], extra: dict[str, Any],
            include_values: bool) -> dict[str, Any]:
    case = CASES[case_name]
    data = ensure_data(OUT, case, rows)
    setups: dict[str, tuple[dict[str, Any], Counter, Callable[[], None]]] = {}
    server = pg = None
    if "sqlite" in databases:
        setups["sqlite"] = _sqlite(rows)
    if "postgres" in databases:
        from support.postgres import running_postgres

        server = running_postgres()
        pg = server.__enter__()
        setups["postgres"] = _postgres(pg)
    try:
        names = ["none", *setups]
        got: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for run in range(runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                config = dict(extra)
                if name != "none":
                    sync_log, count, reset = setups[name]
                    reset()
                    config["sync_log"] = {**sync_log, "include_values": include_values}
                before = server_cpu(pg) if name == "postgres" else 0.0
                m = run_once(case, data, rows, run, config)
                m["db_cpu_s"] = server_cpu(pg) - before if name == "postgres" else 0.0
                if name != "none":
                    logged, delivered, status = count(m["report"]["run_id"])
                    if (logged, delivered, status) != (rows, rows, "success"):
                        raise BenchError(f"{name}: the sync log holds {logged} rows ({delivered} delivered), "
                                         f"run status {status}; expected {rows}, success")
                del m["report"]
                got[name].append(m)
                print(f"run {run + 1}/{runs} {name:<8} {m['rows_per_s']:>9.0f} rows/s, CPU {m['cpu_s']:.2f} s"
                      f" (+ server {m['db_cpu_s']:.2f} s)", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    base = statistics.median(m["rows_per_s"] for m in got["none"])
    base_cpu = statistics.median(m["cpu_s"] for m in got["none"])
    results = {}
    for name, ms in got.items():
        rate = statistics.median(m["rows_per_s"] for m in ms)
        cpu = statistics.median(m["cpu_s"] + m["db_cpu_s"] for m in ms)
        results[name] = {"rows_per_s": rate, "ratio": rate / base, "cpu_s": cpu,
                         "extra_cpu_us_per_row": (cpu - base_cpu) * 1e6 / rows,
                         "peak_rss_mb": max(m["rss_mb"] for m in ms), "runs": ms}
    return {"case": case_name, "rows": rows, "runs": runs, "include_values": include_values, "extra_config": extra,
            "cpus": os.cpu_count(), "load_average": os.getloadavg(), "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/synclog_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--case", choices=sorted(CASES), default="attributes")
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--include-values", action="store_true", help="sync_log.include_values: true")
    args = parser.parse_args(argv)
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    if set(databases) - {"sqlite", "postgres"} or args.rows < 1 or args.runs < 1:
        parser.error("--db takes sqlite and/or postgres; --rows and --runs must be at least 1")
    if not os.path.exists(TIME):
        parser.error("needs /usr/bin/time (apt-get install -y time) and nginx (apt-get install -y nginx-light)")
    OUT.mkdir(exist_ok=True)
    try:
        doc = measure(args.case, args.rows, args.runs, databases, parse_sets(args.sets), args.include_values)
    except (BenchError, SinkError, subprocess.SubprocessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    (OUT / "synclog-results.json").write_text(json.dumps(doc, indent=2))
    print(f"{args.case}, {args.rows:,} rows, median of {args.runs} interleaved runs "
          f"(load average at the end {doc['load_average'][0]:.1f}):")
    print(f"{'sync log':<10}{'rows/s':>10}{'ratio':>8}{'CPU s':>8}{'+µs/row':>9}{'RSS MB':>8}  verdict")
    for name, r in doc["results"].items():
        verdict = "-" if name == "none" else ("ok" if r["ratio"] >= TARGET_RATIO else f"below {TARGET_RATIO:.0%}")
        print(f"{name:<10}{r['rows_per_s']:>10.0f}{r['ratio']:>8.3f}{r['cpu_s']:>8.2f}"
              f"{r['extra_cpu_us_per_row']:>9.2f}{r['peak_rss_mb']:>8.1f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
