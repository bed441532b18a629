"""The one classification of Braze's answers and of transport failures."""

import socket
import threading

import pytest
from support.ports import refusing_port

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind, Phase, classify_failure, classify_response
from connector.braze.ratelimit import parse_rate_headers

NOW = 1_800_000_000.0


@pytest.mark.parametrize("status,kind", [
    (200, Kind.DELIVERED), (201, Kind.DELIVERED), (400, Kind.REJECTED), (401, Kind.AUTH),
    (403, Kind.AUTH), (404, Kind.FATAL), (413, Kind.SPLIT), (429, Kind.RATE_LIMITED),
    (500, Kind.RETRY), (502, Kind.RETRY), (503, Kind.RETRY), (504, Kind.RETRY),
])
def test_status_table(status, kind):
    assert classify_response(status, {}, '{"message": "x"}', NOW).kind is kind


def test_partial_errors_name_array_and_index():
    body = ('{"message": "success", "errors": [{"type": "bad time", "input_array": "events", "index": 2},'
            ' {"type": "no id", "input_array": "events", "index": 0}]}')
    outcome = classify_response(201, {}, body, NOW)
    assert outcome.kind is Kind.PARTIAL
    assert [(e.array, e.index, e.reason) for e in outcome.errors] == [
        ("events", 2, "bad time"), ("events", 0, "no id")]


def test_all_invalid_400_with_errors_is_partial():
    body = '{"message": "Valid data must be provided", "errors": [{"type": "t", "input_array": "attributes", "index": 0}]}'
    outcome = classify_response(400, {}, body, NOW)
    assert outcome.kind is Kind.PARTIAL and outcome.status == 400


def test_non_json_body_keeps_status_message():
    outcome = classify_response(502, {}, "<html>bad gateway</html>", NOW)
    assert outcome.kind is Kind.RETRY and outcome.message == "HTTP 502"


def test_rate_headers_epoch_and_seconds_forms():
    epoch = parse_rate_headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 3)}, NOW)
    assert epoch.remaining == 0 and epoch.reset_in == pytest.approx(3)
    seconds = parse_rate_headers({"X-RateLimit-Reset": "2.5", "X-Ratelimit-Retry-After": "0.25"}, NOW)
    assert seconds.reset_in == 2.5 and seconds.retry_after == 0.25
    assert parse_rate_headers({"Retry-After": "7"}, NOW).retry_after == 7
    assert parse_rate_headers({"X-RateLimit-Reset": "soon"}, NOW).reset_in is None


def test_refused_connection_is_retryable_not_unknown():
    with refusing_port() as port:
        client = BrazeClient(f"http://127.0.0.1:{port}", "k", timeout_s=2)
        assert client.post("/users/track", b"{}").kind is Kind.RETRY


class OneShotServer:
    """A loopback server that does one thing to the first connection, then stops."""

    def __init__(self, handle):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, args=(handle,))
        self.thread.start()

    def _serve(self, handle):
        conn, _ = self.sock.accept()
        with conn:
            handle(conn)
        self.sock.close()


def _read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def test_connection_closed_after_send_is_unknown_fate():
    server = OneShotServer(_read_request)          # reads the whole request, closes, no answer
    outcome = BrazeClient(server.url, "k", timeout_s=5).post("/users/track", b"{}")
    server.thread.join()
    assert outcome.kind is Kind.UNKNOWN_FATE


def test_no_answer_within_the_timeout_is_unknown_fate():
    done = threading.Event()

    def read_and_wait(conn):
        _read_request(conn)
        done.wait(5)

    server = OneShotServer(read_and_wait)
    outcome = BrazeClient(server.url, "k", timeout_s=0.2).post("/users/track", b"{}")
    done.set()
    server.thread.join()
    assert outcome.kind is Kind.UNKNOWN_FATE and "timeout" in outcome.message


def test_an_answer_trickled_a_byte_at_a_time_is_cut_at_the_deadline():
    """The client's socket blocks (no timeout of its own: fewer hand-overs of the GIL per
    request); the watchdog alone ends a request whose answer never ends, each byte in time."""
    cut = threading.Event()

    def trickle(conn):
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 1000\r\n\r\n")
        try:
            while not cut.wait(0.02):       # a byte every 20 ms, until the client hangs up
                conn.sendall(b"x")
        except OSError:
            pass

    server = OneShotServer(trickle)
    client = BrazeClient(server.url, "k", timeout_s=0.3)
    outcome = client.post("/users/track", b"{}")
    cut.set()
    server.thread.join()
    assert outcome.kind is Kind.UNKNOWN_FATE and "timeout" in outcome.message


def test_a_kept_connection_blocks_and_its_requests_are_bounded_by_the_watchdog():
    done = threading.Event()

    def answer(conn):
        _read_request(conn)
        conn.sendall(b'HTTP/1.1 201 Created\r\nContent-Length: 21\r\n\r\n{"message":"success"}')
        _read_request(conn)             # the second request gets no answer
        done.wait(5)

    server = OneShotServer(answer)
    client = BrazeClient(server.url, "k", timeout_s=0.3)
    assert client.post("/users/track", b"{}").kind is Kind.DELIVERED
    assert client._conn is not None and client._conn.sock.gettimeout() is None
    outcome = client.post("/users/track", b"{}")
    done.set()
    server.thread.join()
    assert outcome.kind is Kind.UNKNOWN_FATE and "timeout" in outcome.message


def test_answer_headers_and_body_reach_the_classifier():
    def answer(conn):
        head, body = _read_request(conn)
        assert b"authorization: bearer secret-k" in head.lower() and body == b'{"a":1}'
        payload = b'{"message":"success","errors":[{"type":"bad","input_array":"attributes","index":0}]}'
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-RateLimit-Remaining: 7\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))

    server = OneShotServer(answer)
    client = BrazeClient(server.url, "secret-k", timeout_s=5)
    outcome = client.post("/users/track", b'{"a":1}')
    server.thread.join()
    assert outcome.kind is Kind.PARTIAL and outcome.rate.remaining == 7
    assert "secret-k" not in repr(client)


def test_failure_messages_name_the_class_not_the_text():
    outcome = classify_failure(Phase.ANSWER, ConnectionResetError("peer secret-host reset"))
    assert outcome.kind is Kind.UNKNOWN_FATE and "secret-host" not in outcome.message
    assert classify_failure(Phase.SEND, BrokenPipeError()).kind is Kind.RETRY
