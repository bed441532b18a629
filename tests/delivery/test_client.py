"""braze/client.py over a raw socket server: every framing a server may answer with, and every way an
answer can break, each ending in the right outcome (and the phase it failed in)."""

from __future__ import annotations

import socket
import threading

import pytest
from support.ports import refusing_port

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind

SUCCESS = b'{"message":"success"}'


class RawServer:
    """Accepts connections; for each request it reads, writes the next scripted answer raw.
    An answer of None closes the connection without answering."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with conn, conn.makefile("rb") as f:
                while self.answers:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = f.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    self.requests.append(head + f.read(length))
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    conn.sendall(answer)
                    if b"connection: close" in answer.lower() or answer.startswith(b"HTTP/1.0"):
                        break

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)


def post_each(answers: list[bytes | None], bodies: int | None = None):
    server = RawServer(answers)
    client = BrazeClient(server.url, "secret", timeout_s=5)
    try:
        outcomes = [client.post("/users/track", b'{"attributes":[{}]}') for _ in range(bodies or len(answers))]
    finally:
        client.close()
        server.close()
    return outcomes, server


def test_content_length_body_and_rate_headers_in_any_case_over_one_connection():
    outcomes, server = post_each([
        b"HTTP/1.1 201 Created\r\nContent-Length: 21\r\nX-RateLimit-Remaining: 9\r\n\r\n" + SUCCESS,
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nx-ratelimit-remaining: 0\r\n"
        b"X-RateLimit-Reset: 2\r\n\r\n15\r\n" + SUCCESS + b"\r\n0\r\n\r\n",
    ])
    assert [o.kind for o in outcomes] == [Kind.DELIVERED, Kind.DELIVERED]
    assert outcomes[0].rate.remaining == 9
    assert outcomes[1].rate.remaining == 0 and outcomes[1].rate.reset_in == 2.0
    assert server.connections == 1 and len(server.requests) == 2
    head = server.requests[0]
    assert head.startswith(b"POST /users/track HTTP/1.1\r\n") and head.endswith(b'{"attributes":[{}]}')
    assert b"Authorization: Bearer secret\r\n" in head and f"Host: {server.url[7:]}\r\n".encode() in head


def test_chunked_body_with_extensions_and_trailers():
    [outcome], _ = post_each([b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"4;x=y\r\n{\"me\r\n11\r\nssage\":\"success\"}\r\n0\r\nTrailer: t\r\n\r\n"])
    assert (outcome.kind, outcome.message) == (Kind.DELIVERED, "success")


def test_interim_answers_are_skipped():
    [outcome], _ = post_each([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 21\r\n\r\n"
                              + SUCCESS])
    assert outcome.kind is Kind.DELIVERED


@pytest.mark.parametrize("first", [
    b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 21\r\n\r\n" + SUCCESS,
    b"HTTP/1.0 201 Created\r\nContent-Length: 21\r\n\r\n" + SUCCESS,
    b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nthe rest of the stream",   # no length: until the end
])
def test_a_connection_the_server_ends_is_replaced(first):
    outcomes, server = post_each([first, b"HTTP/1.1 201 Created\r\nContent-Length: 21\r\n\r\n" + SUCCESS])
    assert outcomes[1].kind is Kind.DELIVERED and server.connections == 2


@pytest.mark.parametrize("raw, kind, words", [
    (None, Kind.UNKNOWN_FATE, "connection lost before the answer"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", Kind.UNKNOWN_FATE, "connection lost before the answer"),
    (b"HTTP/1.1 2x1 Created\r\n\r\n", Kind.UNKNOWN_FATE, "connection lost before the answer"),
    (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nshort", Kind.UNKNOWN_FATE, "connection lost"),
    (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nshort", Kind.UNKNOWN_FATE, "connection lost"),
    (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", Kind.UNKNOWN_FATE, "connection lost"),
    (b"HTTP/1.1 201 Created\r\nX: " + b"a" * 70000 + b"\r\n\r\n", Kind.UNKNOWN_FATE, "connection lost"),
    (b"HTTP/1.1 201 Created\r\n" + b"X: 1\r\n" * 101 + b"\r\n", Kind.UNKNOWN_FATE, "connection lost"),
])
def test_broken_answers_are_of_unknown_fate_and_never_quote_the_server(raw, kind, words):
    [outcome], _ = post_each([raw])
    assert outcome.kind is kind and outcome.status is None and words in outcome.message
    assert "short" not in outcome.message and "SSH" not in outcome.message


def test_a_refused_connection_is_retried_not_unknown():
    with refusing_port() as port:
        outcome = BrazeClient(f"http://127.0.0.1:{port}", "k", timeout_s=2).post("/users/track", b"{}")
    assert outcome.kind is Kind.RETRY and "could not connect" in outcome.message
