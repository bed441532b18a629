"""POST JSON bodies to Braze over one kept-alive connection, with a deadline; outcome.py classifies the answer.

urllib3 makes the connection (TLS verified against the system's CAs and SSL_CERT_FILE, the
CONNECT tunnel of HTTPS_PROXY unless NO_PROXY names the host); the exchange on it is ours: one
`sendall` of the request's head and body, and the answer read by the standard library's
`http.client.HTTPResponse` (its head by a few lines of ours: `_Answer`). Why not urllib3's
`urlopen`: its pool, header checks and response wrapping cost ~130 µs of CPU per request
against ~27 µs for this (`python bench/stages.py`, "client"), and at Braze's 1,000-2,000
requests/s that is the difference between the senders sharing the GIL with the reading thread
and starving it. Once connected the socket blocks: the deadline is braze/deadlines.py's watchdog. The client notices a stale kept-alive
connection before reusing it (the server closed it: it is readable) and records how far each
request got (connect, send, answer), since a request that failed after its body was sent may
have been applied by Braze. It knows nothing of modes, rows or the product: the caller gives it
the URL, the key and the User-Agent.
"""

from __future__ import annotations

import http.client
import math
import ssl
import time
import urllib.parse
import urllib.request
from typing import Any, Callable

import urllib3
from urllib3._base_connection import ProxyConfig
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import parse_url
from urllib3.util.wait import wait_for_read

from connector.braze.deadlines import WATCHDOG, Armed, Watchdog
from connector.braze.outcome import Outcome, Phase, classify_failure, classify_response

CONNECT_TIMEOUT_S = 10.0        # a connection not made by then will not be (nor can a stop cut it sooner)
MAX_ANSWER_BYTES = 16 << 20     # Braze's answers are small; a larger body is not a Braze answer
READ_SIZE = 1 << 16


def _proxy_url(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this host (HTTPS_PROXY, NO_PROXY), if any."""
    if scheme != "https" or urllib.request.proxy_bypass(host):
        return None
    url = urllib.request.getproxies().get("https")
    if not url:
        return None
    return url if "://" in url else f"http://{url}"


def connection_pool(base_url: str, timeout_s: float) -> urllib3.HTTPConnectionPool:
    """A urllib3 pool of one connection to the host of base_url (TLS verified, HTTPS_PROXY honoured),
    for a request where a few hundred microseconds do not matter (the run's notice)."""
    target = _Dial(base_url, timeout_s)     # where to, and through which proxy: as the client's
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
    options: dict[str, Any] = {"maxsize": 1, "block": False, "timeout": timeout, "retries": False}
    if target.https:
        options["ssl_context"] = target.context
    if target.proxy is None:
        cls = urllib3.HTTPSConnectionPool if target.https else urllib3.HTTPConnectionPool
        return cls(target.host, target.port, **options)
    split = urllib.parse.urlsplit(target.proxy)
    manager = urllib3.ProxyManager(f"{split.scheme}://{split.hostname}:{split.port or 8080}", num_pools=1,
                                   proxy_headers=_proxy_auth(split), **options)
    return manager.connection_from_host(target.host, target.port, scheme="https")


def _proxy_auth(split: urllib.parse.SplitResult) -> dict[str, str] | None:
    """The Proxy-Authorization header of a proxy URL's user:password@, if it has one."""
    if not split.username:
        return None
    auth = f"{urllib.parse.unquote(split.username)}:{urllib.parse.unquote(split.password or '')}"
    return urllib3.make_headers(proxy_basic_auth=auth)


class _Dial:
    """Makes a fresh connection to one host, directly or through the environment's HTTPS proxy."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        default = 443 if self.https else 80
        self.port = parts.port or default
        self.host_header = self.host if self.port == default else f"{self.host}:{self.port}"
        self._timeout = min(timeout_s, CONNECT_TIMEOUT_S)
        self.context = ssl.create_default_context() if self.https else None
        self.proxy = _proxy_url(parts.scheme, self.host)

    def __call__(self) -> HTTPConnection:
        if not self.https:
            return HTTPConnection(self.host, self.port, timeout=self._timeout)
        if self.proxy is None:
            return HTTPSConnection(self.host, self.port, timeout=self._timeout, ssl_context=self.context)
        split = urllib.parse.urlsplit(self.proxy)
        conn = HTTPSConnection(split.hostname or "", split.port or 8080, timeout=self._timeout,
                               ssl_context=self.context, proxy=parse_url(self.proxy),
                               proxy_config=ProxyConfig(self.context, False, None, None))
        conn.set_tunnel(self.host, self.port, headers=_proxy_auth(split))
        return conn


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


MAX_HEAD_LINES = 100        # header lines of one answer, as http.client allows
MAX_LINE = 65536


class _Answer(http.client.HTTPResponse):
    """http.client's answer reader, but with the head read by a few lines of ours: http.client
    hands the head to the email package's parser, which cost ~45% of a sender's CPU (py-spy
    over `bench/run.py`, ~7% of a loopback job's GIL). The body (Content-Length, chunked with
    extensions and trailers, read to the connection's end) is http.client's own."""

    def begin(self) -> None:
        while True:     # ends at the first answer that is not 100 Continue (bounded by the deadline)
            version, status, reason = self._read_status()      # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            _head_lines(self.fp)
        if not version.startswith("HTTP/1."):
            raise http.client.UnknownProtocol(version)
        self.code = self.status = status
        self.reason = reason.strip()
        self.version = 10 if version == "HTTP/1.0" else 11
        headers = http.client.HTTPMessage()
        for line in _head_lines(self.fp):
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if colon:       # a line without one (a folded or broken header) carries nothing we read
                headers[name.strip()] = value.strip()
        self.headers = self.msg = headers
        self.chunked = (headers.get("transfer-encoding") or "").lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()       # type: ignore[attr-defined]
        self.length = None
        length = headers.get("content-length")
        if length and not self.chunked and length.strip().isdigit():    # else: read to the end, as http.client does
            self.length = int(length)
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200:
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True      # the body ends with the connection


def _head_lines(fp: Any) -> list[bytes]:
    """The header lines of one answer, up to the blank line that ends them."""
    lines: list[bytes] = []
    for _ in range(MAX_HEAD_LINES + 1):
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return lines
        lines.append(line.rstrip(b"\r\n"))
    raise http.client.HTTPException(f"got more than {MAX_HEAD_LINES} headers")


def _read_all(response: http.client.HTTPResponse) -> bytes:
    """The whole body, up to MAX_ANSWER_BYTES; a body shorter than its Content-Length raises
    IncompleteRead (an HTTPException)."""
    chunks: list[bytes] = []
    total = 0
    while True:     # bounded: each pass reads more, and MAX_ANSWER_BYTES ends it
        chunk = response.read(READ_SIZE)
        if not chunk:
            if response.length:     # read(amt) does not raise on an early end: what is left says it
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise http.client.HTTPException("the answer is too large to be Braze's")
        chunks.append(chunk)


def _header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or not value.isprintable():
        raise ValueError(f"the {name} header cannot hold control characters")
    value.encode("latin-1")     # HTTP header values: raises on what cannot be sent
    return value


class BrazeClient:
    """One kept-alive connection to one Braze REST host; use one client per thread."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, *, user_agent: str = "braze-export",
                 clock: Callable[[], float] = time.time, watchdog: Watchdog = WATCHDOG) -> None:
        self._dial = _Dial(base_url, timeout_s)
        self._conn: HTTPConnection | None = None
        self._clock = clock
        self._timeout_s = timeout_s
        self._watchdog = watchdog
        self._cutoff = math.inf         # no request of this client may run past this (monotonic) time
        self._armed: Armed | None = None     # the request in progress
        self._head = ("Host: " + self._dial.host_header
                      + "\r\nAuthorization: Bearer " + _header_value("Authorization", api_key)
                      + "\r\nContent-Type: application/json\r\nAccept-Encoding: identity"
                      + "\r\nUser-Agent: " + _header_value("User-Agent", user_agent)
                      + "\r\nContent-Length: ").encode("latin-1")

    def __repr__(self) -> str:
        return f"BrazeClient({self._dial.host!r}, port={self._dial.port})"   # never the key

    def expire(self, at: float) -> None:
        """No request may run past `at` (a time.monotonic value): the job is stopping."""
        self._cutoff = min(self._cutoff, at)
        armed = self._armed
        if armed is not None:
            armed.deadline = min(armed.deadline, at)

    def _connection(self, armed: Armed) -> HTTPConnection:
        """The kept-alive connection if the server has not closed it, else a new one, connected."""
        conn = self._conn
        if conn is not None and conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
            armed.conn = conn
            return conn
        if conn is not None:    # closed by the server since (readable: its FIN, or stray bytes)
            conn.close()
        conn = self._conn = self._dial()
        armed.conn = conn
        conn.connect()
        if conn.sock is not None:
            # Blocking from here on: the watchdog ends each request by its deadline. With a
            # timeout, CPython polls before every send and read and sets the mode per request,
            # each a hand-over of the GIL, which hundreds of senders then queue for.
            conn.sock.settimeout(None)
        return conn

    def post(self, path: str, body: bytes) -> Outcome:
        """POST one body within the timeout (connect to last byte); the outcome of the answer, or of
        how far the request got."""
        phase = Phase.CONNECT
        armed = self._armed = self._watchdog.arm(min(time.monotonic() + self._timeout_s, self._cutoff))
        try:
            conn = self._connection(armed)
            sock = conn.sock
            assert sock is not None
            phase = Phase.SEND
            sock.sendall(b"POST " + path.encode("ascii") + b" HTTP/1.1\r\n" + self._head
                         + str(len(body)).encode("ascii") + b"\r\n\r\n" + body)
            phase = Phase.ANSWER
            response = _Answer(sock, method="POST")
            try:
                response.begin()
                data = _read_all(response)
            finally:
                response.close()
            if response.will_close:
                self._drop()
        except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException, ValueError) as exc:
            # urllib3's errors come from connecting (a refusal, a proxy's answer, TLS); ValueError
            # from http.client's parser (a malformed chunk size)
            self._drop()
            return classify_failure(phase, TimeoutError() if armed.expired else _cause(exc))
        finally:
            self._watchdog.disarm(armed)
            self._armed = None
        if armed.expired:       # cut as the answer ended: whether it came whole is not known
            self._drop()
            return classify_failure(Phase.ANSWER, TimeoutError())
        return classify_response(response.status, response.headers, data.decode("utf-8", "replace"), self._clock())

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._drop()
