"""Helpers of the sync-log and notice tests: the CLI on a job folder, the tables, a webhook receiver.

The receiver is a real HTTP server on 127.0.0.1 (TCP_NODELAY) that checks each notice's
HMAC-SHA256 signature with the secret it was given, answers from a script of statuses, and lets a
test wait for the n-th notice without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import API_KEY, Job as E2EJob, Run  # noqa: E402

NOTIFY_SECRET = "notify-S3cret-5a8f1d2c9e"
ATTRS = {"mode": "user_track", "track_record_type": "user_profile_attributes"}
SIGNATURE = "X-Braze-Export-Signature"
__all__ = ["API_KEY", "ATTRS", "Job", "Notice", "Receiver", "Run", "SIGNATURE", "NOTIFY_SECRET"]


class Job(E2EJob):
    """The end-to-end tests' job folder, in attributes mode by default, with NOTIFY_SECRET set,
    and `start()` for a run to signal or kill."""

    def config(self, **settings: Any) -> Path:
        return super().config(**{**ATTRS, **settings})

    def run(self, *extra: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> Run:
        return super().run(*extra, stdin=stdin, env={"NOTIFY_SECRET": NOTIFY_SECRET, **(env or {})}, timeout=timeout)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        full = {**os.environ, "BRAZE_API_KEY": API_KEY, "NOTIFY_SECRET": NOTIFY_SECRET, **(env or {})}
        return subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", "config.yml",
                                 "--report", "report.json", *args], cwd=self.folder, env=full,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def users_csv(count: int, first: int = 1) -> str:
    return "external_id,city\n" + "".join(f"u{i},City{i}\n" for i in range(first, first + count))


def sqlite_rows(path: Path, table: str = "braze_sync_log", where: str = "", args: tuple = ()) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f'SELECT * FROM {table} {where} ORDER BY run_id, "row"', args)]


def sqlite_runs(path: Path, table: str = "braze_sync_runs") -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY started_at")]


@dataclass
class Notice:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A loopback webhook: `url`, the notices it got (`notices`), statuses to answer (`script`)."""

    secret: str = NOTIFY_SECRET
    script: list[int] = field(default_factory=list)   # answered in order; then 200
    notices: list[Notice] = field(default_factory=list)
    _server: Any = None
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/braze?token=t0k3n-in-the-query"

    def __enter__(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                verified = hmac.compare_digest(self.headers.get(SIGNATURE, ""), expected)
                with receiver._cond:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.notices.append(Notice(self.path, dict(self.headers), body, verified))
                    receiver._cond.notify_all()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 60) -> list[Notice]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.notices) >= count, timeout), self.notices
            return list(self.notices)
