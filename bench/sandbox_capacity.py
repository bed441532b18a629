"""The sandbox's requests/s (`python bench/sandbox_capacity.py [--sink]`), or how soon `show` prints (`--show-profiles N`)."""

from __future__ import annotations

import argparse
import json
import os
import selectors
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import requests

from connector.sandbox.store import Store

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


def build_store(path: str, profiles: int, events: int) -> None:
    """`profiles` profiles with a few attributes, and `events` events spread over them, in bulk SQL."""
    Store(path).close()   # the schema
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO profiles (id, braze_id, external_id, email, attributes) VALUES (?, ?, ?, ?, ?)",
                       ((n, f"{n:024x}", f"user-{n}", f"user-{n}@example.com",
                         json.dumps({"email": f"user-{n}@example.com", "score": n % 97, "tier": "gold"}))
                        for n in range(1, profiles + 1)))
        db.executemany("INSERT INTO events (profile, seq, name, body) VALUES (?, ?, 'played', ?)",
                       ((1 + k % profiles, 1 + k // 75, json.dumps({"name": "played", "time": "2024-05-01T10:00:00Z",
                                                                    "properties": {"k": k}}))
                        for k in range(events)))
    db.close()


def time_show(path: str, extra: list[str]) -> tuple[float, float, float, int]:
    """Seconds to the first line, to the first profile's line and to the end of `sandbox show`; bytes printed."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "connector.sandbox", "show", "--db", path, *extra],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    at_first = time.monotonic() - started
    size, at_profile = len(first), None
    for line in proc.stdout:
        size += len(line)
        if at_profile is None and (line[:1].isalpha() or line.startswith(b"  {")):   # text or --json
            at_profile = time.monotonic() - started
    proc.wait(timeout=3600)
    return at_first, at_profile or at_first, time.monotonic() - started, size


def show_bench(profiles: int, events: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/big.sqlite"
        started = time.monotonic()
        build_store(path, profiles, events)
        print(f"store: {profiles} profiles, {events} events, built in {time.monotonic() - started:.1f} s")
        for extra in ([], ["--events"], ["--json"], ["--limit", "10"]):
            first, profile, total, size = time_show(path, extra)
            print(f"show {' '.join(extra) or '(text)'}: first line {first:.2f} s, first profile {profile:.2f} s, "
                  f"all {total:.1f} s ({size / 1e6:.1f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/sandbox_capacity.py")
    parser.add_argument("--sink", action="store_true")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--objects", type=int, default=75, help="events per request")
    parser.add_argument("--db", default=":memory:")
    parser.add_argument("--show-profiles", type=int, default=0,
                        help="instead: time `sandbox show` on a store of this many profiles")
    parser.add_argument("--show-events", type=int, default=1_000_000, help="events in that store")
    args = parser.parse_args()
    if args.show_profiles:
        show_bench(args.show_profiles, args.show_events)
        return 0
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
