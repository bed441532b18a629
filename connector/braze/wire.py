"""HTTP/1.1 on one kept-alive connection: a request written in one go, its response read back.

http.client builds each request header by header and parses each response's headers with the
email package: ~50 µs of CPU per request, a tenth of a row's cost at 75 rows per request. Here
the request head is fixed per path except Content-Length, and the response is read by this
small parser, which knows what a JSON API answers with: a status line, headers, and a body
sized by Content-Length, by chunked encoding, or by the end of the connection.

Errors are http.client's own exceptions (RemoteDisconnected, BadStatusLine, IncompleteRead,
LineTooLong), so that their classification (braze/outcome.py) does not depend on who read them.
"""

from __future__ import annotations

import http.client
from typing import BinaryIO, NamedTuple

MAX_LINE = 65536        # bytes in a status or header line, as http.client
MAX_HEADERS = 100       # header lines in one response, as http.client
MAX_BODY = 16 << 20     # Braze's answers are small; a larger body is not a Braze answer


class Headers(dict[str, str]):
    """Response headers; lookups ignore case (the names are stored in lower case)."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


class Response(NamedTuple):
    status: int
    headers: Headers
    body: bytes
    will_close: bool      # the server ends the connection after this response


def request_head(method: str, path: str, host: str, headers: dict[str, str]) -> bytes:
    """The request line and headers up to `Content-Length: ` (the length and CRLFs follow)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")


def message(head: bytes, body: bytes) -> bytes:
    """The whole request: head (from request_head), the body's length, the body."""
    return b"%s%d\r\n\r\n%s" % (head, len(body), body)


def _line(f: BinaryIO) -> bytes:
    line = f.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    return line


def read_response(f: BinaryIO, method: str = "POST") -> Response:
    """Read one response from a buffered reader of the connection."""
    while True:     # ends: each pass reads one response; only 1xx answers are skipped
        status, version = _status(f)
        headers = _headers(f)
        if status >= 200:
            break
    connection = (headers.get("connection") or "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    if status in (204, 304) or method == "HEAD":
        return Response(status, headers, b"", will_close)
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        return Response(status, headers, _chunked(f), will_close)
    length = headers.get("content-length")
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise http.client.HTTPException(f"invalid Content-Length {length[:40]!r}") from None
        if not 0 <= size <= MAX_BODY:
            raise http.client.HTTPException(f"Content-Length {size} out of range")
        body = f.read(size)
        if len(body) < size:
            raise http.client.IncompleteRead(body, size - len(body))
        return Response(status, headers, body, will_close)
    body = f.read(MAX_BODY + 1)     # no length: the body ends with the connection
    if len(body) > MAX_BODY:
        raise http.client.HTTPException("response body too large")
    return Response(status, headers, body, True)


def _status(f: BinaryIO) -> tuple[int, str]:
    line = _line(f)
    if not line:
        raise http.client.RemoteDisconnected("the server closed the connection without an answer")
    parts = line.decode("latin-1").rstrip("\r\n").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise http.client.BadStatusLine(line.decode("latin-1")[:80])
    return int(parts[1]), parts[0]


def _headers(f: BinaryIO) -> Headers:
    headers = Headers()
    for _ in range(MAX_HEADERS + 1):
        line = _line(f)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise http.client.HTTPException(f"more than {MAX_HEADERS} headers")


def _chunked(f: BinaryIO) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:     # ends: at the last (zero) chunk, or an error
        size_line = _line(f)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(parts)) from None
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise http.client.HTTPException("response body too large")
        chunk = f.read(size)
        if len(chunk) < size:
            raise http.client.IncompleteRead(b"".join(parts) + chunk, size - len(chunk))
        parts.append(chunk)
        if f.read(2) != b"\r\n":
            raise http.client.IncompleteRead(b"".join(parts))
    while _line(f) not in (b"\r\n", b"\n", b""):    # trailers, ignored
        pass
    return b"".join(parts)
