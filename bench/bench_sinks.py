"""Loopback sinks that answer 201 at once: nginx (the cheapest) or the sandbox's sink mode.

Each sink records when the first request arrived (for the start-up figure) and how many
requests it answered (to cross-check the report).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

HERE = Path(__file__).resolve().parent

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$msec $status $request_length';
    access_log {prefix}/access.log bench;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_max_body_size 5m;
    client_body_buffer_size 5m;
    tcp_nodelay on;
    server {{
        listen 127.0.0.1:{port} reuseport;
        default_type application/json;
        location / {{ return 201 '{{"message":"success"}}'; }}
    }}
}}
"""


class SinkError(RuntimeError):
    """The sink could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SinkError(f"the sink exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise SinkError(f"the sink did not listen on port {port} within {timeout_s:.0f}s")


class Sink:
    """A started sink (use as a context manager): `url`, then `first_request()` and `requests()`."""

    def __init__(self, kind: str, key: str = "bench-key", latency_ms: float = 0.0) -> None:
        if kind not in ("nginx", "sandbox"):
            raise SinkError(f"unknown sink {kind!r}: nginx or sandbox")
        if latency_ms and kind != "sandbox":
            raise SinkError("only the sandbox sink can add latency")
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        if kind == "nginx":
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            (self._dir / "nginx.conf").write_text(NGINX_CONF.format(prefix=self._dir, port=self.port))
            argv = [nginx, "-p", str(self._dir), "-c", str(self._dir / "nginx.conf")]
        else:
            argv = [sys.executable, str(HERE / "sandbox_sink.py"), str(self.port), key, str(self._dir / "stats.json"),
                    str(latency_ms)]
        try:
            self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as exc:
            raise SinkError(f"cannot start {argv[0]}: {exc.strerror}") from None
        try:
            wait_listening(self.port, self._proc)
        except SinkError:
            self.close()
            raise

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the sink (nginx: SIGTERM ends it quickly; the sandbox wrapper writes its stats)."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._proc.stderr is not None:
            self._proc.stderr.close()

    def _log_lines(self) -> list[str]:
        path = self._dir / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stats(self) -> tuple[float | None, int, int]:
        """(wall time of the first request or None, requests answered, requests answered 201); after close()."""
        if self.kind == "sandbox":
            path = self._dir / "stats.json"
            data = json.loads(path.read_text()) if path.exists() else {}
            return data.get("first"), int(data.get("requests", 0)), int(data.get("ok", 0))
        lines = self._log_lines()
        # $msec is logged when the answer is written; the sink answers at once, so that is arrival.
        first = float(lines[0].split()[0]) if lines else None
        ok = sum(1 for line in lines if line.split()[1] == "201")
        return first, len(lines), ok

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
