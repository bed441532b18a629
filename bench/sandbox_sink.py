"""The sandbox in sink mode, recording the first request's arrival:
`sandbox_sink.py PORT KEY STATS.json [LATENCY_MS]` (each answer delayed that long, in parallel).

Serves until SIGTERM, then writes {"first": epoch seconds or null, "requests": n, "ok": n}.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any

from connector.sandbox import Sandbox


def main(argv: list[str]) -> int:
    port, key, stats_path = int(argv[0]), argv[1], argv[2]
    latency_ms = float(argv[3]) if len(argv) > 3 else 0.0
    seen: dict[str, Any] = {"first": None, "requests": 0, "ok": 0}
    lock = threading.Lock()
    sandbox = Sandbox(api_key=key, port=port, sink=True, track_rps=1e9, users_rps=1e9, latency_ms=latency_ms)
    serve = sandbox.app.serve

    def recording(*args: Any, **kwargs: Any) -> Any:
        arrived = time.time()
        reply = serve(*args, **kwargs)
        with lock:
            if seen["first"] is None:
                seen["first"] = arrived
            seen["requests"] += 1
            seen["ok"] += int(reply.status == 201)
        return reply

    sandbox.app.serve = recording  # type: ignore[method-assign]
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with sandbox:
        stopped.wait(timeout=24 * 3600)
    with open(stats_path, "w", encoding="utf-8") as f:
        json.dump(seen, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
