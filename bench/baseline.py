"""The baseline: a plain serial `requests` loop over the CSV, one batch per request, no threads.

    python bench/baseline.py CASE FILE URL [--key K]   -> one JSON line: rows, requests, ok, elapsed_seconds
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import CASES, Case  # noqa: E402

CONVERT: dict[str, Callable[[str], Any]] = {"long": int, "double": float, "boolean": lambda v: v == "true"}
ENDPOINTS = {"user_track": "/users/track", "user_delete": "/users/delete", "user_new_alias": "/users/alias/new"}
EVENT_KEYS = ("external_id", "name", "time")


def objects(case: Case, rows: Iterable[dict[str, str]]) -> Iterator[Any]:
    """The Braze object of each row, typed columns converted, the simplest way."""
    typed = [(name, CONVERT[kind]) for name, kind in case.columns.items()]
    for row in rows:
        obj: dict[str, Any] = dict(row)
        for name, convert in typed:
            obj[name] = convert(obj[name])
        if case.track_record_type == "custom_events":
            yield {**{k: obj.pop(k) for k in EVENT_KEYS}, "properties": obj}
        elif case.mode == "user_delete":
            yield obj["external_id"]
        else:
            yield obj


def array_name(case: Case) -> str:
    if case.mode == "user_delete":
        return "external_ids"
    if case.mode == "user_new_alias":
        return "user_aliases"
    return "events" if case.track_record_type == "custom_events" else "attributes"


def run(case: Case, path: str, url: str, key: str) -> dict[str, Any]:
    """Send the whole file serially; the counts and the elapsed time."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    target, array = url.rstrip("/") + ENDPOINTS[case.mode], array_name(case)
    rows = requests_sent = ok = 0
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as f:
        batch: list[Any] = []
        for obj in objects(case, csv.DictReader(f)):
            batch.append(obj)
            if len(batch) == case.per_request:
                ok += _post(session, target, array, batch)
                rows, requests_sent, batch = rows + len(batch), requests_sent + 1, []
        if batch:
            ok += _post(session, target, array, batch)
            rows, requests_sent = rows + len(batch), requests_sent + 1
    elapsed = time.perf_counter() - started
    session.close()
    return {"case": case.name, "rows": rows, "requests": requests_sent, "ok": ok, "elapsed_seconds": elapsed}


def _post(session: requests.Session, target: str, array: str, batch: list[Any]) -> int:
    return int(session.post(target, data=json.dumps({array: batch}), timeout=30).status_code == 201)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/baseline.py")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("file")
    parser.add_argument("url")
    parser.add_argument("--key", default="bench-key")
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(run(CASES[args.case], args.file, args.url, args.key)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
