"""Measure the sandbox's capacity in requests/s: `python bench/sandbox_capacity.py [--sink]` (loopback only)."""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from typing import Any

import requests

KEY = "bench-key"


def start_server(sink: bool, db: str) -> tuple[subprocess.Popen[str], str]:
    """The sandbox in its own process (so the client does not share its interpreter), and its URL."""
    argv = [sys.executable, "-m", "connector.sandbox", "--db", db, "--track-rps", "1e9",
            "--users-rps", "1e9"] + (["--sink"] if sink else [])
    env = dict(os.environ, BRAZE_SANDBOX_API_KEY=KEY)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not selector.select(20):
        proc.kill()
        raise RuntimeError("the sandbox did not start")
    line = proc.stdout.readline() if proc.stdout else ""
    return proc, line.split()[4]


def body(objects: int, start: int) -> dict[str, Any]:
    return {"events": [{"external_id": f"u{(start + i) % 1000}", "name": "bench", "time": "2024-05-01T10:00:00Z",
                        "properties": {"i": start + i}} for i in range(objects)]}


def load(url: str, threads: int, seconds: float, objects: int) -> tuple[int, int, float]:
    """Requests answered 201, other answers, elapsed seconds; bounded by `seconds`."""
    counts = [0, 0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n: int) -> None:
        session = requests.Session()
        payload = json.dumps(body(objects, n * 100_000)).encode()
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        ok = bad = 0
        while time.monotonic() < deadline:
            status = session.post(url + "/users/track", data=payload, headers=headers, timeout=10).status_code
            ok, bad = (ok + 1, bad) if status == 201 else (ok, bad + 1)
        with lock:
            counts[0] += ok
            counts[1] += bad
        session.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=seconds + 30)
    return counts[0], counts[1], time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/sandbox_capacity.py")
    parser.add_argument("--sink", action="store_true")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--objects", type=int, default=75, help="events per request")
    parser.add_argument("--db", default=":memory:")
    args = parser.parse_args()
    proc, url = start_server(args.sink, args.db)
    try:
        ok, bad, elapsed = load(url, args.threads, args.seconds, args.objects)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    mode = "sink" if args.sink else f"normal (db {args.db})"
    print(f"{mode}: {ok / elapsed:.0f} requests/s, {ok * args.objects / elapsed:.0f} objects/s "
          f"({ok} answered 201, {bad} other, {args.threads} threads, {args.objects} objects per request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
