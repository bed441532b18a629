"""A user_subscription job of many rows against a sandbox with its faults on: accounted for exactly?

    python bench/subscription_faults.py [--rows 100000] [--fail-rate 0.05] [--drop-rate 0.03] [--seed 7]

The sandbox runs in this process with its faults on: a script of a 429 with Retry-After, a 500
and a drop first; then `fail_rate` of the requests answered 429 or 503 (the status switches every
quarter of a second) and `drop_rate` of them dropped after the request was applied (the answer
never comes). The connector runs as `python -m connector run` in a subprocess. Rows name unique users (a third each by external_id,
email and phone, over three groups and both states), so each row can be found in what the
sandbox received. Checked, and printed with the figures:

- the report: rows_read = N = delivered + skipped + rejected + failed, and `requests` equal to
  the requests the sandbox saw;
- every delivered row's user is in exactly one request the sandbox answered 201 (dropped
  requests aside, which the sandbox applied but never answered), and has its state there;
- every row not delivered is in the rejected-rows file with its reason, and in no 201 answer: the
  invalid rows (one in a thousand: a phone not in E.164) skipped, the rows of the one request the
  script answers 400 rejected with Braze's message, any row whose retries ran out failed.

`check(...)` is also what tests/e2e/test_subscription_faults.py runs.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from connector.sandbox import Sandbox

PATH = "/v2/subscription/status/set"
GROUPS = ("3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
          "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")
KEY = "subscription-faults-key-3c9e"
KINDS = ("external_id", "email", "phone")
ARRAYS = {"external_ids": "external_id", "emails": "email", "phones": "phone"}


def user_of(i: int) -> tuple[str, str]:
    kind = KINDS[i % 3]
    return kind, {"external_id": f"u{i}", "email": f"p{i}@example.com", "phone": f"+1{i:010d}"}[kind]


def invalid(i: int) -> bool:
    """One row in a thousand has a phone that is not E.164: skipped by our own validation."""
    return i % 1000 == 999


def write_input(path: Path, rows: int) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["subscription_group_id", "subscription_state", "external_id", "email", "phone"])
        for i in range(rows):
            kind, value = user_of(i)
            cells = ["", "", "555-0100"] if invalid(i) else [value if k == kind else "" for k in KINDS]
            out.writerow([GROUPS[i % 3], ("subscribed", "unsubscribed")[(i // 3) % 2], *cells])


def seed_external_ids(url: str, rows: int) -> None:
    """Profiles for the rows' external ids (Braze, and the sandbox, ignore unknown ones here)."""
    ids = [user_of(i)[1] for i in range(0, rows, 3)]
    with requests.Session() as session:
        for start in range(0, len(ids), 75):
            answer = session.post(f"{url}/users/track", timeout=30, headers={"Authorization": f"Bearer {KEY}"},
                                  json={"attributes": [{"external_id": e} for e in ids[start:start + 75]]})
            answer.raise_for_status()


def _switch_statuses(sandbox: Sandbox, done: threading.Event) -> None:
    """fail_rate answers 429 and 503 in turn, a quarter of a second each, until `done`."""
    statuses = (429, 503)
    for turn in range(1_000_000):     # ends with the job (`done`), long before this bound
        if done.wait(0.25):
            return
        sandbox.set_faults(fail_status=statuses[turn % 2])


def check(folder: Path, rows: int, fail_rate: float = 0.05, drop_rate: float = 0.03, seed: int = 7,
          client_rps: float = 400.0) -> dict[str, Any]:
    """Run the job in `folder`; raise AssertionError if a row is not accounted for exactly; the figures."""
    write_input(folder / "subs.csv", rows)
    with Sandbox(api_key=KEY, subscription_rps=1000.0, seed=seed) as sandbox:
        seed_external_ids(sandbox.url, rows)
        sandbox.reset(data=False)
        sandbox.set_faults(fail_rate=fail_rate, fail_status=503, drop_rate=drop_rate, seed=seed,
                           script=[{"status": 429, "retry_after": 0.2}, {"status": 500}, {"drop": True},
                                   {"status": 400, "body": {"message": "refused by the bench"}}])
        done = threading.Event()
        switcher = threading.Thread(target=_switch_statuses, args=(sandbox, done), daemon=True)
        config = {"endpoint": sandbox.url, "api_key": "${BRAZE_API_KEY}", "mode": "user_subscription",
                  "input": {"path": "subs.csv"}, "concurrency": 8, "skip_on_invalid_records": True, "requests_per_second": client_rps,
                  "initial_retry_interval_millis": 100, "maximum_retry_interval_millis": 2000,
                  "maximum_retries": 8, "timeout_millis": 10000}
        (folder / "config.json").write_text(json.dumps(config))
        started = time.perf_counter()
        switcher.start()
        try:
            proc = subprocess.run([sys.executable, "-m", "connector", "run", "--config", "config.json", "--report",
                                   "report.json"], cwd=folder, capture_output=True, text=True, timeout=1800,
                                  env={**os.environ, "BRAZE_API_KEY": KEY})
        finally:
            done.set()
            switcher.join()
        wall = time.perf_counter() - started
        seen = sandbox.requests(PATH)
        stats = sandbox.stats()
        states = {(s["group_id"], s["external_id"] or s["email"] or s["phone"]): s["state"]
                  for s in sandbox.subscriptions(None)}
    assert KEY not in proc.stdout + proc.stderr, "the key leaked"
    report = json.loads((folder / "report.json").read_text())
    counted = sum(report[k] for k in ("rows_delivered", "rows_skipped", "rows_rejected", "rows_failed"))
    assert report["rows_read"] == rows == counted, report
    assert report["requests"] == len(seen), (report["requests"], len(seen))
    listed = {}
    reject_file = folder / "rejected.jsonl"
    if reject_file.exists():
        listed = {r["row"]: r for r in map(json.loads, reject_file.read_text().splitlines())}
    assert len(listed) == rows - report["rows_delivered"] and all(r["reason"] for r in listed.values())
    answered: collections.Counter[tuple[str, str]] = collections.Counter()
    for request in seen:
        if request["status"] == 201:
            for entry in request["body"]["subscription_groups"]:
                for array, kind in ARRAYS.items():
                    for value in entry.get(array, []):
                        answered[(entry["subscription_group_id"], value)] += 1
    outcomes = collections.Counter(r["outcome"] for r in listed.values())
    assert outcomes["skipped"] == report["rows_skipped"] == sum(invalid(i) for i in range(rows))
    assert outcomes["rejected"] == report["rows_rejected"] and outcomes["failed"] == report["rows_failed"]
    for i in range(rows):
        group, user = GROUPS[i % 3], user_of(i)[1]
        if invalid(i):
            assert listed[i + 1]["reason"].startswith("column phone: not a phone number in E.164"), i + 1
        elif i + 1 in listed:
            assert answered[(group, user)] == 0, f"row {i + 1} is listed but Braze answered it"
        else:
            assert answered[(group, user)] == 1, f"row {i + 1}: in {answered[(group, user)]} answered requests"
            assert states.get((group, user)) == ("subscribed", "unsubscribed")[(i // 3) % 2], f"row {i + 1}"
    statuses = collections.Counter("dropped" if r["status"] is None else r["status"] for r in seen)
    return {"rows": rows, "exit_code": proc.returncode, "status": report["status"],
            "delivered": report["rows_delivered"], "skipped": report["rows_skipped"],
            "rejected": report["rows_rejected"], "failed": report["rows_failed"], "requests": report["requests"],
            "retries": report["retries"], "unknown_fate": report.get("requests_unknown_fate"),
            "answers": dict(sorted(statuses.items(), key=str)), "elapsed_s": report["elapsed_seconds"],
            "wall_s": round(wall, 2), "rows_per_s": round(rows / report["elapsed_seconds"]),
            "sandbox_objects_received": stats.get("objects_received")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--drop-rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = check(Path(folder), args.rows, args.fail_rate, args.drop_rate, args.seed)
    print(json.dumps(figures, indent=2))
    print("every row delivered exactly once or listed with its reason; the report's accounting exact")


if __name__ == "__main__":
    main()
