"""One measured run: braze-export or the baseline under `/usr/bin/time -v`, against a fresh sink."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench_data import Case
from bench_sinks import Sink

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TIME = "/usr/bin/time"
KEY = "bench-key"
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


class BenchError(RuntimeError):
    """A measured run did not do what it should (non-zero exit, rows missing, sink disagreeing)."""


@dataclass(frozen=True)
class Measurement:
    """What one run of one program on one case gave."""

    program: str                 # "braze-export" | "baseline"
    case: str
    rows: int
    rows_per_s: float            # rows delivered / the program's own elapsed time
    wall_s: float                # process start to exit, as the harness saw it
    wall_rows_per_s: float
    peak_rss_mb: float
    startup_s: float | None      # process start to the sink seeing the first request
    requests: int
    exit_code: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_config(out: Path, case: Case, data: Path, url: str, extra: dict[str, Any]) -> Path:
    """A braze-export config for the case (JSON, which is YAML too) aimed at the sink."""
    config: dict[str, Any] = {
        "endpoint": url, "api_key": KEY, "mode": case.mode,
        "input": {"format": "csv", "path": str(data), **({"columns": case.columns} if case.columns else {})},
        "requests_per_second": 100000, "reject_file": str(out / f"rejected-{case.name}.jsonl"),
        **extra,
    }
    if case.track_record_type:
        config["track_record_type"] = case.track_record_type
    path = out / f"config-{case.name}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def timed(argv: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """(completed process, wall start epoch, wall seconds, peak RSS MB) of argv under /usr/bin/time -v."""
    started = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run([TIME, "-v", *argv], cwd=cwd, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    match = _RSS.search(proc.stderr)
    if match is None:
        raise BenchError(f"no peak RSS from {TIME} -v (exit {proc.returncode}): {proc.stderr[-500:]}")
    return proc, started, wall, int(match.group(1)) / 1024


def run_product(out: Path, case: Case, data: Path, rows: int, sink_kind: str, run: int,
                extra: dict[str, Any], latency_ms: float = 0.0) -> Measurement:
    """braze-export on the case, under /usr/bin/time -v, against a fresh sink."""
    report = out / f"report-{case.name}-{run}.json"
    report.unlink(missing_ok=True)
    with Sink(sink_kind, KEY, latency_ms) as sink:
        config = write_config(out, case, data, sink.url, extra)
        argv = [sys.executable, "-m", "connector", "run", "--config", str(config), "--report", str(report)]
        proc, started, wall, rss = timed(argv, out)
    first, answered, ok = sink.stats()
    sink.cleanup()
    if not report.exists():
        raise BenchError(f"braze-export wrote no report (exit {proc.returncode}): {proc.stderr[-800:]}")
    r = json.loads(report.read_text())
    if proc.returncode != 0 or r["rows_delivered"] != rows:
        raise BenchError(f"braze-export exit {proc.returncode}, {r['rows_delivered']}/{rows} delivered: "
                         f"{proc.stderr[-800:]}")
    if answered != r["requests"] or ok != answered:
        raise BenchError(f"the sink answered {answered} requests ({ok} with 201); the report says {r['requests']}")
    return Measurement("braze-export", case.name, rows, r["rows_delivered"] / r["elapsed_seconds"], wall,
                       rows / wall, rss, None if first is None else first - started, r["requests"], proc.returncode)


def run_baseline(out: Path, case: Case, data: Path, rows: int, sink_kind: str) -> Measurement:
    with Sink(sink_kind, KEY) as sink:
        argv = [sys.executable, str(HERE / "baseline.py"), case.name, str(data), sink.url, "--key", KEY]
        proc, started, wall, rss = timed(argv, out)
    first, answered, ok = sink.stats()
    sink.cleanup()
    if proc.returncode != 0:
        raise BenchError(f"the baseline failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    if r["rows"] != rows or r["ok"] != r["requests"] or answered != r["requests"] or ok != answered:
        raise BenchError(f"the baseline sent {r['rows']}/{rows} rows, {r['ok']}/{r['requests']} answered 201, "
                         f"the sink saw {answered}")
    return Measurement("baseline", case.name, rows, rows / r["elapsed_seconds"], wall, rows / wall, rss,
                       None if first is None else first - started, r["requests"], proc.returncode)
