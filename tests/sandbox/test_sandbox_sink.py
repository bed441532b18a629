"""Sink mode: every authorised request gets 201 at once; counted, not validated, not stored."""

from __future__ import annotations

import time


def test_sink_accepts_everything_and_counts(make_client):
    c = make_client(sink=True)
    answer = c.track(events=[{"nonsense": True}, {}], attributes=[{"x": 1}])
    assert (answer.status_code, answer.json()) == (201, {"message": "success"})
    assert c.post("/users/delete", {"external_ids": ["a", "b"], "braze_ids": ["c"]}).status_code == 201
    assert c.post("/users/track", {"attributes": [{}]}, key="wrong").status_code == 401
    stats = c.sandbox.stats()
    assert stats["objects_received"] == 6
    assert stats["by_path"] == {"/users/track": {"201": 1, "401": 1}, "/users/delete": {"201": 1}}
    assert c.sandbox.received() == [] and c.sandbox.users() == [] and c.sandbox.user("a") is None


def test_sink_delays_answers_by_latency_ms_but_applies_no_other_fault(make_client):
    c = make_client(sink=True, latency_ms=150, fail_rate=1.0, fail_status=503)
    started = time.monotonic()
    answer = c.track(attributes=[{"external_id": "u1"}])
    assert time.monotonic() - started >= 0.15       # a lower bound: the sandbox slept that long
    assert (answer.status_code, answer.json()) == (201, {"message": "success"})
    assert c.sandbox.stats()["by_path"] == {"/users/track": {"201": 1}}


def test_a_sink_with_limits_keeps_the_rate_limit_and_the_faults(make_client):
    c = make_client(sink=True, sink_limits=True, track_rps=1, track_burst=2, seed=1)
    answers = [c.track(attributes=[{"x": 1}]) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "2" and answers[1].headers["X-RateLimit-Remaining"] == "0"
    assert float(answers[2].headers["X-Ratelimit-Retry-After"]) > 0
    c.sandbox.set_faults(script=[{"status": 503}])
    assert c.track(attributes=[{"x": 1}]).status_code == 503
    assert c.sandbox.received() == []                            # still a sink: nothing stored
