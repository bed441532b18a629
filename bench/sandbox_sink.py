"""The sandbox in sink mode, recording the first request's arrival:
`sandbox_sink.py PORT KEY STATS.json [LATENCY_MS]` (each answer delayed that long, in parallel).

Serves until SIGTERM, then writes {"first": epoch seconds or null, "requests": n, "ok": n}.
`serve_recorded` is the part bench/pace_sink.py shares.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any, Callable

from connector.sandbox import Sandbox


def serve_recorded(sandbox: Sandbox, record: Callable[[float, Any], None]) -> None:
    """Serve until SIGTERM; `record(arrival, reply)` for each request (epoch seconds; called
    under a lock, so it may update shared figures)."""
    lock = threading.Lock()
    serve = sandbox.app.serve

    def recording(*args: Any, **kwargs: Any) -> Any:
        arrived = time.time()
        reply = serve(*args, **kwargs)
        with lock:
            record(arrived, reply)
        return reply

    sandbox.app.serve = recording  # type: ignore[method-assign]
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with sandbox:
        stopped.wait(timeout=24 * 3600)


def main(argv: list[str]) -> int:
    port, key, stats_path = int(argv[0]), argv[1], argv[2]
    latency_ms = float(argv[3]) if len(argv) > 3 else 0.0
    seen: dict[str, Any] = {"first": None, "requests": 0, "ok": 0}

    def record(arrived: float, reply: Any) -> None:
        if seen["first"] is None:
            seen["first"] = arrived
        seen["requests"] += 1
        seen["ok"] += int(reply.status == 201)

    serve_recorded(Sandbox(api_key=key, port=port, sink=True, track_rps=1e9, users_rps=1e9,
                           latency_ms=latency_ms), record)
    with open(stats_path, "w", encoding="utf-8") as f:
        json.dump(seen, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
