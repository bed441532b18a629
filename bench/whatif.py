"""Measure proposed optimisations before anyone writes them: patch the product in memory, then run it.

    python bench/whatif.py [--http-client] [--batch-encode] [--switch-interval S] [--partition K/N]
                           -- run --config F --report R

For measurement only: the patches are prototypes (no error mapping beyond the status, no byte cap
per batch with --batch-encode), never a replacement for the product code.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import time
import urllib.parse
from typing import Any

import connector.batching as batching
import connector.braze.client as client
import connector.job as job
from connector import cli
from connector.braze.outcome import Outcome, classify_exception, classify_response


class LeanClient:
    """BrazeClient's interface over one http.client keep-alive connection (TCP_NODELAY)."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, **_: Any) -> None:
        url = urllib.parse.urlsplit(base_url)
        self._host, self._port, self._timeout = url.hostname or "127.0.0.1", url.port or 80, timeout_s
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def post(self, path: str, body: bytes) -> Outcome:
        try:
            conn = self._connection()
            conn.request("POST", path, body, self._headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return classify_exception(exc)  # type: ignore[arg-type]
        return classify_response(response.status, response.headers, text, time.time())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Raw:
    """Stands in for encoded text: `.encode()` hands the object itself to the batch."""

    __slots__ = ("body",)

    def __init__(self, body: Any) -> None:
        self.body = body

    def encode(self, _: str) -> Any:
        return self.body


def patch_batch_encode() -> None:
    """Entries carry the object; each batch is encoded once, in the lane that sends it."""
    pump_init = job._Pump.__init__
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        pump_init(self, *args, **kwargs)
        self._encode = _Raw

    def body(self: Any) -> bytes:
        return dumps({self.array: [e.encoded for e in self.entries]}).encode("utf-8")

    job._Pump.__init__ = init  # type: ignore[method-assign]
    batching.Batch.body = body  # type: ignore[method-assign]


def patch_partition(spec: str) -> None:
    """Keep only the CSV lines whose first cell hashes to partition K of N (`K/N`), before parsing.

    Prototype of N worker processes over one file with lanes by user: row numbers restart per
    worker here, which a real version would keep global.
    """
    import zlib

    from connector.sources.delimited import DelimitedSource

    k, n = (int(x) for x in spec.split("/"))
    init = DelimitedSource.__init__

    def partitioned(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        reader, crc = self._reader, zlib.crc32
        self._reader = (cells for cells in reader if crc(cells[0].encode()) % n == k)

    DelimitedSource.__init__ = partitioned  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/whatif.py")
    parser.add_argument("--http-client", action="store_true", help="http.client in place of requests")
    parser.add_argument("--batch-encode", action="store_true", help="encode each batch once")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (default 0.005)")
    parser.add_argument("--partition", metavar="K/N", help="only the rows of user partition K of N")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.http_client:
        job.BrazeClient = LeanClient  # type: ignore[assignment,misc]
        client.BrazeClient = LeanClient  # type: ignore[assignment,misc]
    if args.batch_encode:
        patch_batch_encode()
    if args.partition:
        patch_partition(args.partition)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
