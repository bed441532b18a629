"""braze/wire.py: the request bytes, and responses of every framing a server may use."""

from __future__ import annotations

import http.client
import io
import socket
import threading

import pytest

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind
from connector.braze.wire import MAX_HEADERS, message, read_response, request_head


def read(raw: bytes, method: str = "POST"):
    return read_response(io.BufferedReader(io.BytesIO(raw)), method)


def test_request_is_one_message_with_its_length():
    head = request_head("POST", "/users/track", "rest.iad-01.braze.com", {"Authorization": "Bearer k"})
    assert message(head, b'{"a":1}') == (
        b"POST /users/track HTTP/1.1\r\nHost: rest.iad-01.braze.com\r\nAuthorization: Bearer k\r\n"
        b'Content-Length: 7\r\n\r\n{"a":1}')


def test_content_length_body_and_headers_in_any_case():
    r = read(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-RateLimit-Remaining: 9\r\n"
             b"Set-Cookie: a\r\nset-cookie: b\r\n\r\nhello" + b"HTTP/1.1 200 OK\r\n")
    assert (r.status, r.body, r.will_close) == (201, b"hello", False)
    assert r.headers.get("x-ratelimit-remaining") == "9" and r.headers["X-RATELIMIT-REMAINING"] == "9"
    assert "X-RateLimit-Remaining" in r.headers and r.headers.get("Retry-After") is None
    assert r.headers.get("Set-Cookie") == "a, b"


def test_chunked_body_with_extensions_and_trailers():
    r = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"4;x=y\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: t\r\n\r\n")
    assert (r.status, r.body, r.will_close) == (200, b'{"a":1}', False)


def test_interim_answers_are_skipped():
    r = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
    assert (r.status, r.body) == (201, b"{}")


@pytest.mark.parametrize("raw, will_close", [
    (b"HTTP/1.1 500 Oops\r\n\r\nthe rest of the stream", True),                    # no length: until EOF
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.1 204 No Content\r\n\r\n", False),
])
def test_when_the_server_ends_the_connection(raw, will_close):
    assert read(raw).will_close is will_close


@pytest.mark.parametrize("raw, error", [
    (b"", http.client.RemoteDisconnected),
    (b"SSH-2.0-OpenSSH\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/1.1 2x1 Created\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.IncompleteRead),
    (b"HTTP/1.1 201 Created\r\nContent-Length: nine\r\n\r\n", http.client.HTTPException),
    (b"HTTP/1.1 201 Created\r\nX: " + b"a" * 70000 + b"\r\n\r\n", http.client.LineTooLong),
    (b"HTTP/1.1 201 Created\r\n" + b"X: 1\r\n" * (MAX_HEADERS + 1) + b"\r\n", http.client.HTTPException),
])
def test_broken_answers_raise_http_client_errors(raw, error):
    with pytest.raises(error):
        read(raw)


def _serve(answers: list[bytes]) -> tuple[str, list[bytes], threading.Thread]:
    """A one-connection server that reads a request per answer and writes the answer raw."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    got: list[bytes] = []

    def run() -> None:
        conn, _ = listener.accept()
        with conn, listener, conn.makefile("rb") as f:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for answer in answers:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += f.readline()
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                got.append(head + f.read(length))
                conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", got, thread


def test_client_keeps_the_connection_across_framings_and_reads_rate_headers():
    url, got, thread = _serve([
        b"HTTP/1.1 201 Created\r\nContent-Length: 21\r\n\r\n{\"message\":\"success\"}",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nx-ratelimit-remaining: 0\r\n"
        b"X-RateLimit-Reset: 2\r\n\r\n15\r\n{\"message\":\"success\"}\r\n0\r\n\r\n",
    ])
    client = BrazeClient(url, "secret", timeout_s=5)
    first = client.post("/users/track", b'{"attributes":[]}')
    second = client.post("/users/track", b'{"attributes":[{}]}')
    client.close()
    thread.join(5)
    assert first.kind is Kind.DELIVERED and second.kind is Kind.DELIVERED
    assert second.rate.remaining == 0 and second.rate.reset_in is not None
    assert len(got) == 2 and got[1].endswith(b'{"attributes":[{}]}')
    assert b"Authorization: Bearer secret\r\n" in got[0] and f"Host: {url[7:]}\r\n".encode() in got[0]
