"""POST JSON bodies to Braze through urllib3, with a timeout; what came back is classified by outcome.py.

One client is one urllib3 connection pool holding one kept-alive connection, used by one sender
thread. urllib3 opens it (TLS verified against the system's CAs and SSL_CERT_FILE, the CONNECT
tunnel of HTTPS_PROXY unless NO_PROXY names the host) and notices a stale kept-alive connection
before reusing it. The client records how far each request got (connect, send, answer), since a
request that failed after its body was sent may have been applied by Braze. It knows nothing of
modes, rows or the product: the caller gives it the URL, the key and the User-Agent.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Callable

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from connector.braze.outcome import Outcome, Phase, classify_failure, classify_response

MAX_ANSWER_BYTES = 16 << 20     # Braze's answers are small; a larger body is not a Braze answer
READ_SIZE = 1 << 16
_PHASE = threading.local()       # how far the current thread's request got


class _PhasedHTTP(HTTPConnection):
    """An urllib3 connection that records, for its thread, how far a request got."""

    def connect(self) -> None:
        _PHASE.value = Phase.CONNECT
        super().connect()
        _PHASE.value = Phase.SEND

    def request(self, *args: Any, **kwargs: Any) -> None:
        _PHASE.value = Phase.SEND
        super().request(*args, **kwargs)
        _PHASE.value = Phase.ANSWER


class _PhasedHTTPS(_PhasedHTTP, HTTPSConnection):
    """The same over TLS (the methods above run before HTTPSConnection's, by the MRO)."""


def _proxy_url(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this host (HTTPS_PROXY, NO_PROXY), if any."""
    if scheme != "https" or urllib.request.proxy_bypass(host):
        return None
    url = urllib.request.getproxies().get("https")
    if not url:
        return None
    return url if "://" in url else f"http://{url}"


def connection_pool(base_url: str, timeout_s: float) -> urllib3.HTTPConnectionPool:
    """A pool of one kept-alive connection to the host of base_url (TLS verified, HTTPS_PROXY honoured)."""
    parts = urllib.parse.urlsplit(base_url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
    options: dict[str, Any] = {"maxsize": 1, "block": False, "timeout": timeout, "retries": False}
    if https:
        options["ssl_context"] = ssl.create_default_context()
    proxy = _proxy_url(parts.scheme, host)
    if proxy is not None:
        split = urllib.parse.urlsplit(proxy)
        auth = None
        if split.username:
            auth = f"{urllib.parse.unquote(split.username)}:{urllib.parse.unquote(split.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=auth) if auth else None
        bare = f"{split.scheme}://{split.hostname}:{split.port or 8080}"
        manager = urllib3.ProxyManager(bare, num_pools=1, proxy_headers=headers, **options)
        pool = manager.connection_from_host(host, port, scheme="https")
    else:
        cls = urllib3.HTTPSConnectionPool if https else urllib3.HTTPConnectionPool
        pool = cls(host, port, **options)
    pool.ConnectionCls = _PhasedHTTPS if https else _PhasedHTTP
    return pool


def _cause(exc: BaseException) -> BaseException:
    """The exception under urllib3's wrappers (a socket timeout, a reset, a certificate error)."""
    seen = 0
    while seen < 8:     # bounded: wrappers nest a few levels at most
        seen += 1
        inner = exc.__cause__ or next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        if inner is None:
            return exc
        exc = inner
    return exc


def _read_all(response: urllib3.BaseHTTPResponse) -> bytes:
    """The whole body, up to MAX_ANSWER_BYTES; the last (empty) read is where urllib3 finds a body
    shorter than its Content-Length."""
    chunks: list[bytes] = []
    total = 0
    while True:     # bounded: each pass reads more, and MAX_ANSWER_BYTES ends it
        chunk = response.read(READ_SIZE, decode_content=False)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise http.client.HTTPException("the answer is too large to be Braze's")
        chunks.append(chunk)


class BrazeClient:
    """One kept-alive connection to one Braze REST host; use one client per thread."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, *, user_agent: str = "braze-export",
                 clock: Callable[[], float] = time.time) -> None:
        self._pool = connection_pool(base_url, timeout_s)
        self._clock = clock
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": user_agent,
        }

    def __repr__(self) -> str:
        return f"BrazeClient({self._pool.host!r}, port={self._pool.port})"   # never the key

    def post(self, path: str, body: bytes) -> Outcome:
        """POST one body; the outcome of the answer, or of how far the request got."""
        _PHASE.value = Phase.CONNECT
        try:
            # Nothing to decode: the request asks for `Accept-Encoding: identity`.
            response = self._pool.urlopen("POST", path, body=body, headers=self._headers, retries=False,
                                          redirect=False, preload_content=False, decode_content=False,
                                          assert_same_host=False)
            try:
                data = _read_all(response)
            finally:
                response.release_conn()
        except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
            return classify_failure(getattr(_PHASE, "value", Phase.CONNECT), _cause(exc))
        return classify_response(response.status, response.headers, data.decode("utf-8", "replace"), self._clock())

    def close(self) -> None:
        self._pool.close()
