"""The sandbox in sink mode for the pace benchmark: `pace_sink.py PORT KEY STATS.json OPTIONS.json`.

OPTIONS.json holds Sandbox arguments (latency_ms, sink_limits, track_rps, track_burst, fail_rate,
fail_status, drop_rate, seed). It serves until SIGTERM, then writes what it saw: each request's
arrival (epoch seconds), status (None: the connection was dropped) and objects, so that the
benchmark can count requests per second window.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sandbox_sink import serve_recorded  # noqa: E402 - bench/ is this script's folder

from connector.memory import rare_full_collections
from connector.sandbox import Sandbox


def main(argv: list[str]) -> int:
    # The sink must not be what is measured: its own full GC collections (a list of every
    # request's arrival grows here) held the GIL for up to ~100 ms, which the exporter saw as
    # Braze's latency. It tunes its GC as the exporter's process does (connector/memory.py).
    rare_full_collections()
    port, key, stats_path = int(argv[0]), argv[1], argv[2]
    options = json.loads(open(argv[3], encoding="utf-8").read())
    seen: list[tuple[float, int | None]] = []
    sandbox = Sandbox(api_key=key, port=port, sink=True, users_rps=1e9, **{"track_rps": 1e9, **options})
    serve_recorded(sandbox, lambda arrived, reply: seen.append((arrived, None if reply.drop else reply.status)))
    stats = sandbox.stats()
    with open(stats_path, "w", encoding="utf-8") as f:
        json.dump({"requests": seen, "objects_received": stats["objects_received"]}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
