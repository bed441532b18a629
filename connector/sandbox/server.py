"""The sandbox's HTTP plumbing: a threaded HTTP/1.1 keep-alive server with TCP_NODELAY and quiet logs."""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import control
from .core import App, Reply
from .endpoints import PATHS


class Handler(BaseHTTPRequestHandler):
    """One connection; answers until the client closes it or an answer says close."""

    protocol_version = "HTTP/1.1"
    server_version = "BrazeSandbox/1.0"
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: "Server"

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        self.server.track(self.request, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.request, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """No per-request logging."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _length(self) -> int | None:
        text = self.headers.get("Content-Length")
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            return None
        return value if value >= 0 else None

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        length = self._length()
        try:
            if parts.path.startswith("/_sandbox/"):
                raw = self.rfile.read(length) if length and length <= 1 << 20 else b""
                reply = control.handle(app, method, parts.path, parts.query, self.client_address[0], raw)
            elif parts.path in PATHS and method == "POST":
                reply = app.serve(parts.path, self.headers.get("Authorization"), length, self.rfile.read)
            else:
                status, message = (405, "Method Not Allowed") if parts.path in PATHS else (404, "Not Found")
                reply = app.discard(Reply(status, {"message": message}), length, self.rfile.read)
        except Exception:  # noqa: BLE001 - the server's top-level request handler
            reply = Reply(500, {"message": "sandbox internal error"}, close=True)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        payload = json.dumps(reply.body, separators=(",", ":")).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)


class Server(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so `close_connections` can end them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: App) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is normal; anything else gets one line on stderr."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            sys.stderr.write(f"sandbox: error answering {client_address[0]}: {type(error).__name__}\n")

    def track(self, sock: socket.socket, is_open: bool) -> None:
        with self.open_lock:
            if is_open:
                self.open.add(sock)
            else:
                self.open.discard(sock)

    def close_connections(self) -> None:
        """End every kept-alive connection (used on stop)."""
        with self.open_lock:
            socks = list(self.open)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
