"""The one classification of Braze's answers and of transport failures."""

import socket

import pytest
import requests

from connector.braze.outcome import Kind, classify_exception, classify_response
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_retryable_not_unknown():
    try:
        requests.post(f"http://127.0.0.1:{_free_port()}/users/track", data=b"{}", timeout=2)
    except requests.RequestException as exc:
        assert classify_exception(exc).kind is Kind.RETRY
    else:
        pytest.fail("nothing listens there, the request cannot succeed")


def test_connection_closed_after_send_is_unknown_fate():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        import threading

        def accept_read_close():
            conn, _ = server.accept()
            conn.recv(65536)
            conn.close()

        t = threading.Thread(target=accept_read_close)
        t.start()
        try:
            requests.post(f"http://127.0.0.1:{port}/users/track", data=b"{}", timeout=5)
        except requests.RequestException as exc:
            assert classify_exception(exc).kind is Kind.UNKNOWN_FATE
        else:
            pytest.fail("the server closed without answering")
        t.join()
