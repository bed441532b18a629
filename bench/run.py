"""Throughput benchmark of braze-export against a loopback sink, next to a serial `requests` baseline.

    python bench/run.py [--rows 1000000] [--runs 3] [--cases attributes,events,delete,alias]
                        [--sink nginx|sandbox] [--set KEY=JSON ...] [--workers N]
                        [--no-baseline] [--latency-ms MS (with --sink sandbox)]

Writes the data files (once per size), the configs and reports into bench/out/, prints a table
and writes bench/out/results.json (and results-ROWS.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import CASES, ensure_data  # noqa: E402
from bench_measure import REPO, TIME, BenchError, Measurement, run_baseline, run_product  # noqa: E402
from bench_sinks import SinkError  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TARGET_ROWS_S = {"attributes": 75_000, "events": 50_000, "delete": 16_600, "alias": 16_600}
TARGET_RATIO = {"attributes": 2.5}
TARGET_RSS_MB = 150
TARGET_STARTUP_S = 0.5


def summarise(case: str, product: list[Measurement], baseline: list[Measurement]) -> dict[str, Any]:
    """Medians over the runs (peak RSS: the largest), ratio to the baseline, and the verdicts."""
    rate = statistics.median(m.rows_per_s for m in product)
    base = statistics.median(m.rows_per_s for m in baseline) if baseline else None
    startups = [m.startup_s for m in product if m.startup_s is not None]
    row: dict[str, Any] = {
        "case": case, "rows": product[0].rows, "rows_per_s": rate,
        "wall_rows_per_s": statistics.median(m.wall_rows_per_s for m in product),
        "baseline_rows_per_s": base, "ratio": rate / base if base else None,
        "peak_rss_mb": max(m.peak_rss_mb for m in product),
        "baseline_peak_rss_mb": max(m.peak_rss_mb for m in baseline) if baseline else None,
        "startup_s": statistics.median(startups) if startups else None,
        "requests": product[0].requests,
    }
    checks = {"rows_per_s": rate >= TARGET_ROWS_S[case], "peak_rss": row["peak_rss_mb"] <= TARGET_RSS_MB,
              "startup": row["startup_s"] is not None and row["startup_s"] <= TARGET_STARTUP_S}
    if case in TARGET_RATIO and row["ratio"] is not None:
        checks["ratio"] = row["ratio"] >= TARGET_RATIO[case]
    row["targets_met"] = checks
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'case':<11}{'rows':>9}{'rows/s':>10}{'target':>9}{'wall r/s':>10}{'baseline':>10}"
            f"{'ratio':>7}{'RSS MB':>8}{'start s':>8}  misses")
    lines = [head, "-" * len(head)]
    for r in rows:
        base = f"{r['baseline_rows_per_s']:>10.0f}" if r["baseline_rows_per_s"] else f"{'-':>10}"
        ratio = f"{r['ratio']:>7.2f}" if r["ratio"] else f"{'-':>7}"
        start = f"{r['startup_s']:>8.3f}" if r["startup_s"] is not None else f"{'-':>8}"
        misses = ",".join(k for k, ok in r["targets_met"].items() if not ok) or "none"
        lines.append(f"{r['case']:<11}{r['rows']:>9}{r['rows_per_s']:>10.0f}{TARGET_ROWS_S[r['case']]:>9}"
                     f"{r['wall_rows_per_s']:>10.0f}{base}{ratio}{r['peak_rss_mb']:>8.1f}{start}  {misses}")
    return "\n".join(lines)


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """--set concurrency=4 --set batch_size=75: extra config keys, values parsed as JSON."""
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE, not {pair!r}")
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    return extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", default="attributes,events,delete,alias")
    parser.add_argument("--sink", choices=("nginx", "sandbox"), default="nginx")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=JSON",
                        help="an extra config key for braze-export, e.g. --set concurrency=4")
    parser.add_argument("--workers", type=int, default=1,
                        help="the product's `workers: N` setting (same as --set workers=N)")
    parser.add_argument("--no-baseline", action="store_true", help="measure braze-export only")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay each answer this long (sandbox sink only; implies --no-baseline): "
                             "throughput against a Braze that takes time to answer")
    args = parser.parse_args(argv)
    if args.latency_ms:
        if args.sink != "sandbox":
            parser.error("--latency-ms needs --sink sandbox")
        args.no_baseline = True
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or args.rows < 1 or args.runs < 1:
        parser.error(f"unknown case(s) {unknown}; choose from {', '.join(CASES)}" if unknown
                     else "--rows and --runs must be at least 1")
    if not os.path.exists(TIME) or (args.sink == "nginx" and not shutil.which("nginx")
                                    and not os.path.exists("/usr/sbin/nginx")):
        parser.error("needs /usr/bin/time (apt-get install -y time) and nginx (apt-get install -y nginx-light)")
    OUT.mkdir(exist_ok=True)
    extra = parse_sets(args.sets)
    if args.workers > 1:
        extra["workers"] = args.workers
    results, raw = [], []
    try:
        for name in cases:
            case = CASES[name]
            data = ensure_data(OUT, case, args.rows)
            product, baseline = [], []
            for run in range(args.runs):   # interleaved, so both see the same machine state
                product.append(run_product(OUT, case, data, args.rows, args.sink, run, extra, args.latency_ms))
                if not args.no_baseline:
                    baseline.append(run_baseline(OUT, case, data, args.rows, args.sink))
            raw += [m.as_dict() for m in product + baseline]
            results.append(summarise(name, product, baseline))
            print(f"{name}: " + ", ".join(f"{m.program} {m.rows_per_s:.0f} rows/s" for m in product + baseline),
                  file=sys.stderr, flush=True)
    except (BenchError, SinkError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    doc = {"rows": args.rows, "runs": args.runs, "sink": args.sink, "latency_ms": args.latency_ms,
           "extra_config": extra, "workers": args.workers,
           "cpus": os.cpu_count(), "python": sys.version.split()[0], "results": results, "measurements": raw}
    for path in (OUT / "results.json", OUT / f"results-{args.rows}.json"):
        path.write_text(json.dumps(doc, indent=2))
    print(table(results))
    print(f"(median of {args.runs} runs; rows/s from the report; RSS = the largest peak; results in "
          f"{(OUT / 'results.json').relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
