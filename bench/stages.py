"""Cost per row of each stage of the pipeline, single-threaded, with the product's own parts.

    python bench/stages.py [--case attributes] [--rows 1000000] [--requests 2000]

Each stage is timed cumulatively over the whole file (read; read+build; ...), so the difference
between two lines is what the added stage costs per row. The HTTP line posts real 75-object
bodies serially to an nginx sink and reports µs per request and per row. Alternatives that an
optimisation could take (orjson, one encode per batch, plain csv.reader) are timed next to them.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import CASES, ensure_data  # noqa: E402
from bench_measure import KEY, write_config  # noqa: E402
from bench_sinks import Sink  # noqa: E402
from connector.braze.client import BrazeClient  # noqa: E402
from connector.config import load_config  # noqa: E402
from connector.delivery.schedule import Schedule  # noqa: E402
from connector.pipeline import prepare  # noqa: E402
from connector.rows import Entry  # noqa: E402
from connector.sources import open_source  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def timed(label: str, rows: int, fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    us = (time.perf_counter() - t0) * 1e6 / rows
    print(f"{label:<58}{us:8.2f} µs/row  ({rows / (us * rows / 1e6):>9,.0f} rows/s)", flush=True)
    return us


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/stages.py")
    parser.add_argument("--case", choices=sorted(CASES), default="attributes")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000, help="serial HTTP requests to time")
    args = parser.parse_args(argv)
    case = CASES[args.case]
    OUT.mkdir(exist_ok=True)
    data = ensure_data(OUT, case, args.rows)
    settings = load_config(str(write_config(OUT, case, data, "http://127.0.0.1:9", {})))
    plan = prepare(settings, None)
    writer = plan.writer
    n = args.rows
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

    def rows() -> Iterator[tuple[int, Any]]:
        source = open_source(settings.input)
        with source:
            yield from source

    def csv_only() -> None:
        with open(data, newline="", encoding="utf-8") as f:
            for _ in csv.reader(f):
                pass

    def read() -> None:
        for _ in rows():
            pass

    def build() -> None:
        for _, r in rows():
            writer.build(r)

    def build_encode() -> None:
        for _, r in rows():
            encode(writer.build(r).body).encode("utf-8")

    def batched(schedule: Schedule) -> None:
        """Each batch the schedule closes encoded and settled at once (no Braze, no threads)."""
        batch = schedule.take()
        batch.body()
        schedule.done(batch)

    def build_batch() -> None:
        schedule = Schedule(case.per_request, time.monotonic)
        for i, r in rows():
            item = writer.build(r)
            if schedule.add(item.array, Entry(i, r, item.body), item.key) > 0:
                batched(schedule)

    def cell_rows() -> Iterator[tuple[int, Any]]:
        source = open_source(settings.input)
        with source:
            yield from source.cells()

    def fast_encoder() -> Any:
        source = open_source(settings.input)
        with source:
            return writer.compile_cells(source.columns, source.declared())

    encode_cells = fast_encoder()

    def read_cells() -> None:
        for _ in cell_rows():
            pass

    def fast() -> None:
        for _, cells in cell_rows():
            encode_cells.encode(cells)

    def fast_batch() -> None:
        schedule = Schedule(case.per_request, time.monotonic)
        for i, cells in cell_rows():
            key, body = encode_cells.encode(cells)
            if schedule.add(encode_cells.array, Entry(i, cells, body), key) > 0:
                batched(schedule)

    print(f"{args.case}, {n:,} rows, single thread, µs per row (cumulative):")
    base = timed("csv.reader over the file (floor)", n, csv_only)
    r = timed("source: open_source(...) iterated", n, read)
    b = timed("source + writer.build", n, build)
    e = timed("source + build + encode each object (job's encoder)", n, build_encode)
    bb = timed("source + build + Schedule.add + Batch.body() (the product's path)", n, build_batch)
    try:
        import orjson
    except ImportError:
        orjson = None
    if orjson is not None:
        timed("alternative: source + build + orjson.dumps each object", n,
              lambda: [orjson.dumps(writer.build(r).body) for _, r in rows()] and None)
    print(f"  => per stage: source {r:.2f} (csv floor {base:.2f}), build {b - r:.2f}, encode {e - b:.2f}, "
          f"batching and encoding per batch (the product's path) {bb - b:.2f}")
    if encode_cells is None:
        print("the fast path (writers/fastpath.py): none for this case")
    else:
        c = timed("fast path: source.cells() iterated", n, read_cells)
        f = timed("fast path: cells + the writer's cell encoder", n, fast)
        fb = timed("fast path: + Schedule.add + Batch.body() (the product's path)", n, fast_batch)
        print(f"  => per stage: cells {c:.2f}, encode {f - c:.2f}, batching {fb - f:.2f}")
    with Sink("nginx", KEY) as sink:
        client = BrazeClient(sink.url, KEY, timeout_s=30)
        schedule, bodies = Schedule(case.per_request, time.monotonic), []
        for i, r in rows():
            item = writer.build(r)
            if schedule.add(item.array, Entry(i, r, item.body), item.key) > 0:
                batch = schedule.take()
                bodies.append(batch.body())
                schedule.done(batch)
            if len(bodies) >= args.requests:
                break
        t0 = time.perf_counter()
        for body in bodies:
            client.post(plan.card.path, body)
        per_request = (time.perf_counter() - t0) * 1e6 / len(bodies)
        client.close()
    sink.cleanup()
    print(f"HTTP: BrazeClient.post serially to nginx: {per_request:.0f} µs/request = "
          f"{per_request / case.per_request:.2f} µs/row ({len(bodies)} requests of {case.per_request})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
