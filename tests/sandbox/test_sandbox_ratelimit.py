"""Token buckets, X-RateLimit-* headers and 429s."""

from __future__ import annotations

import time

import pytest

from connector.sandbox.ratelimit import Bucket, RateLimits, format_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_takes_refills_and_reports_retry_after():
    clock = FakeClock()
    bucket = Bucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.take().remaining for _ in range(3)] == [2, 1, 0]
    refused = bucket.take()
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.5)
    assert refused.full_in == pytest.approx(1.5)
    clock.now += 0.5
    assert bucket.take().allowed
    clock.now += 100
    assert bucket.peek().remaining == 3


def test_headers_epoch_and_seconds_styles():
    clock = FakeClock()
    epoch = RateLimits(1.0, 1.0, 4, 4, "epoch", clock=clock, wall=lambda: 1_700_000_000.0)
    verdict = epoch.take("/users/track")
    assert dict(epoch.headers(verdict)) == {"X-RateLimit-Limit": "4", "X-RateLimit-Remaining": "3",
                                            "X-RateLimit-Reset": "1700000001"}
    seconds = RateLimits(1.0, 1.0, 4, 4, "seconds", clock=clock)
    for _ in range(4):
        seconds.take("/users/delete")
    refused = seconds.take("/users/identify")
    headers = dict(seconds.headers(refused))
    assert headers["X-RateLimit-Reset"] == "4" and headers["X-Ratelimit-Retry-After"] == "1"
    assert seconds.peek("/users/track").remaining == 4  # the track bucket is apart


def test_format_seconds():
    assert (format_seconds(0.25), format_seconds(2.0), format_seconds(0.0001)) == ("0.25", "2", "0.001")


def test_headers_present_and_decreasing_over_http(make_client):
    c = make_client(track_rps=0.5, track_burst=5)
    remaining = []
    for i in range(3):
        answer = c.track(attributes=[{"external_id": f"u{i}"}])
        assert answer.status_code == 201
        assert int(answer.headers["X-RateLimit-Limit"]) == 5
        assert int(answer.headers["X-RateLimit-Reset"]) >= int(time.time())
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2]


def test_429_with_retry_after_when_a_small_bucket_is_empty(make_client):
    c = make_client(track_rps=0.5, track_burst=2, users_rps=100)
    assert [c.track(attributes=[{"external_id": "u"}]).status_code for _ in range(2)] == [201, 201]
    refused = c.track(attributes=[{"external_id": "late"}])
    assert refused.status_code == 429
    assert 0 < float(refused.headers["X-Ratelimit-Retry-After"]) <= 2
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert c.sandbox.user("late") is None
    assert c.post("/users/delete", {"external_ids": ["u"]}).status_code == 201  # other bucket
    assert c.sandbox.stats()["by_path"]["/users/track"] == {"201": 2, "429": 1}


def test_reset_style_seconds_over_http(make_client):
    c = make_client(reset_style="seconds", track_rps=1, track_burst=10)
    answer = c.track(attributes=[{"external_id": "u"}])
    assert 0 < int(answer.headers["X-RateLimit-Reset"]) <= 10
