"""POST JSON bodies to Braze over one kept-alive connection (stdlib http.client), with a timeout.

http.client rather than requests: at 1,000 requests/s the client's own cost per request
(~100 µs against ~400 µs) decides whether the connector or Braze is the bottleneck. What requests
would add is done here: TLS verification against the system's CAs, HTTPS_PROXY / NO_PROXY from the
environment (a CONNECT tunnel), a stale kept-alive connection noticed before it is reused.
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
from typing import Callable, Mapping

from connector import __version__
from connector.braze.outcome import Outcome, Phase, classify_failure, classify_response


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
            "User-Agent": f"braze-export/{__version__}",
        }
        self._conn: http.client.HTTPConnection | None = None

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
        phase = Phase.CONNECT
        try:
            if self._conn is None or _dropped(self._conn.sock):
                self.close()
                self._conn = self._connect()
            phase = Phase.SEND
            self._conn.request("POST", path, body, self._headers)
            phase = Phase.ANSWER
            response = self._conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return classify_failure(phase, exc)
        if response.will_close:
            self.close()
        return classify_response(response.status, response.headers, text, self._clock())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
