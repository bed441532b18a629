"""POST JSON bodies to Braze over one kept-alive connection, with a timeout.

Not requests: at thousands of requests/s the client's own cost per request (~400 µs for
requests, ~90 µs for http.client, ~30 µs here) decides whether the connector or Braze is the
bottleneck. http.client opens the connection (TLS verified against the system's CAs, the
CONNECT tunnel of HTTPS_PROXY / NO_PROXY); requests and responses then go over its socket
through braze/wire.py. A stale kept-alive connection is noticed before it is reused.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from connector import __version__
from connector.braze.outcome import Outcome, Phase, classify_failure, classify_response
from connector.braze.wire import message, read_response, request_head


@dataclass(frozen=True)
class Endpoint:
    path: str
    bucket: str        # Braze's rate-limit bucket: "track", or "users" (identify/alias/delete)
    max_objects: int   # per request, before track_object_limit narrows /users/track


ENDPOINTS: Mapping[str, Endpoint] = {
    e.path: e for e in (
        Endpoint("/users/track", "track", 75),
        Endpoint("/users/identify", "users", 50),
        Endpoint("/users/alias/new", "users", 50),
        Endpoint("/users/delete", "users", 50),
    )
}


@dataclass(frozen=True)
class _Proxy:
    host: str
    port: int
    authorization: str | None


def _proxy_for(scheme: str, host: str) -> _Proxy | None:
    """The proxy the environment names for this URL (HTTPS_PROXY, NO_PROXY), if any."""
    if scheme != "https" or urllib.request.proxy_bypass(host):
        return None
    url = urllib.request.getproxies().get("https")
    if not url:
        return None
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    authorization = None
    if parts.username:
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    return _Proxy(parts.hostname or "", parts.port or 8080, authorization)


def _dropped(sock: socket.socket | None) -> bool:
    """True when the peer closed an idle kept-alive connection (it is readable: EOF)."""
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class BrazeClient:
    """One connection; use one client per thread."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = timeout_s
        self._clock = clock
        self._proxy = _proxy_for(parts.scheme, self._host)
        self._context = ssl.create_default_context() if self._https else None
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": f"braze-export/{__version__}",
        }
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if self._port == (443 if self._https else 80) else f"{host}:{self._port}"
        self._heads: dict[str, bytes] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._reader: Any = None

    def __repr__(self) -> str:
        return f"BrazeClient({self._host!r}, port={self._port})"

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._https:
            target = (self._proxy.host, self._proxy.port) if self._proxy else (self._host, self._port)
            conn = http.client.HTTPSConnection(*target, timeout=self._timeout, context=self._context)
            if self._proxy:
                headers = {"Proxy-Authorization": self._proxy.authorization} if self._proxy.authorization else None
                conn.set_tunnel(self._host, self._port, headers=headers)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def post(self, path: str, body: bytes) -> Outcome:
        head = self._heads.get(path)
        if head is None:
            head = self._heads[path] = request_head("POST", path, self._host_header, self._headers)
        phase = Phase.CONNECT
        try:
            if self._conn is None or _dropped(self._conn.sock):
                self.close()
                self._conn = self._connect()
                self._reader = self._conn.sock.makefile("rb")
            sock = self._conn.sock
            phase = Phase.SEND
            sock.sendall(message(head, body))
            phase = Phase.ANSWER
            response = read_response(self._reader)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return classify_failure(phase, exc)
        if response.will_close:
            self.close()
        return classify_response(response.status, response.headers, response.body.decode("utf-8", "replace"),
                                 self._clock())

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
