"""Faults on demand: seeded failure rate, script entries, latency, drops, and the control endpoint."""

from __future__ import annotations

import time

import pytest
import requests

from connector.errors import ConfigError
from connector.sandbox.control import is_loopback
from connector.sandbox.faults import Fault, Faults, FaultSettings


def _statuses(client, count):
    return [client.track(attributes=[{"external_id": f"u{i}", "i": i}]).status_code for i in range(count)]


def test_fail_rate_is_repeatable_with_a_seed(make_client):
    one = make_client(fail_rate=0.5, fail_status=503, seed=7)
    two = make_client(fail_rate=0.5, fail_status=503, seed=7)
    first, second = _statuses(one, 30), _statuses(two, 30)
    assert first == second
    assert set(first) == {201, 503}
    failed = [f"u{i}" for i, s in enumerate(first) if s == 503]
    assert all(one.sandbox.user(uid) is None for uid in failed)
    assert len(one.sandbox.users()) == first.count(201)
    assert one.sandbox.stats()["faults"] == first.count(503)


def test_each_script_entry_in_turn(client):
    client.sandbox.set_faults(script=[{"status": 429, "retry_after": 0.2}, {"status": 500}, {"status": 503},
                                      {"status": 413}])
    answers = [client.track(events=[client.event("u1", f"e{i}")]) for i in range(5)]
    assert [a.status_code for a in answers] == [429, 500, 503, 413, 201]
    assert answers[0].headers["X-Ratelimit-Retry-After"] == "0.2"
    assert "X-RateLimit-Remaining" in answers[1].headers
    assert [e["name"] for e in client.sandbox.events()] == ["e4"]
    assert [r["status"] for r in client.sandbox.requests()] == [429, 500, 503, 413, 201]
    assert client.sandbox.requests()[0]["body"]["events"][0]["name"] == "e0"


def test_script_counts_every_user_endpoint(client):
    client.sandbox.set_faults(script=[{"status": 503}])
    assert client.post("/users/delete", {"external_ids": ["x"]}).status_code == 503
    assert client.control("GET", "/_sandbox/stats").status_code == 200
    assert client.post("/users/delete", {"external_ids": ["x"]}).status_code == 201


def test_drop_applies_then_closes_without_answer(client):
    client.sandbox.set_faults(script=[{"drop": True}])
    with pytest.raises(requests.ConnectionError):
        client.track(events=[client.event("u1", "once")])
    assert [e["name"] for e in client.sandbox.events()] == ["once"]
    assert client.sandbox.requests()[0]["status"] is None
    assert client.sandbox.stats()["dropped"] == 1
    assert client.track(events=[client.event("u1", "next")]).status_code == 201


def test_drop_without_applying(make_client):
    c = make_client(drop_rate=1.0, drop_applies=False)
    with pytest.raises(requests.ConnectionError):
        c.track(events=[c.event("u1")])
    assert c.sandbox.events() == [] and c.sandbox.received() == []


def test_drop_rate_from_the_constructor(make_client):
    c = make_client(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        c.track(attributes=[{"external_id": "u1", "a": 1}])
    assert c.sandbox.user("u1")["attributes"] == {"a": 1}


def test_latency(make_client):
    c = make_client(latency_ms=150)
    started = time.monotonic()
    assert c.track(attributes=[{"external_id": "u"}]).status_code == 201
    assert time.monotonic() - started >= 0.15
    c.sandbox.set_faults(latency_ms=0, script=[{"status": 500, "latency_ms": 120}])
    started = time.monotonic()
    assert c.track(attributes=[{"external_id": "u"}]).status_code == 500
    assert time.monotonic() - started >= 0.12


def test_control_endpoint_sets_reads_and_resets(client):
    set_answer = client.control("POST", "/_sandbox/faults", {"fail_rate": 1.0, "fail_status": 502,
                                                              "script": [{"status": 429}]})
    assert set_answer.status_code == 200
    current = client.control("GET", "/_sandbox/faults").json()
    assert (current["fail_rate"], current["fail_status"], current["script"]) == (1.0, 502, [{"status": 429}])
    assert [client.track(attributes=[{"external_id": "u"}]).status_code for _ in range(2)] == [429, 502]
    assert client.control("POST", "/_sandbox/faults", {"fail_rate": 2}).status_code == 400
    assert client.control("POST", "/_sandbox/faults", {"nonsense": 1}).status_code == 400
    assert client.control("POST", "/_sandbox/reset", {}).json()["data"] is False
    assert client.track(attributes=[{"external_id": "u"}]).status_code == 201
    assert client.sandbox.user("u") is not None
    stats = client.control("GET", "/_sandbox/stats").json()
    assert stats["by_path"]["/users/track"] == {"429": 1, "502": 1, "201": 1}
    assert stats["objects_received"] == 1 and stats["rows_applied"] == 1
    assert client.control("GET", "/_sandbox/received").json()[0]["object"] == {"external_id": "u"}
    client.control("POST", "/_sandbox/reset", {"data": True})
    assert client.sandbox.users() == [] and client.sandbox.stats()["requests"] == 0


def test_fault_settings_are_checked():
    faults = Faults(FaultSettings())
    for bad in ({"fail_rate": -0.1}, {"fail_status": 99}, {"script": [{"retry_after": 1}]},
                {"script": [{"status": 500, "colour": "red"}]}, {"drop_applies": "yes"}, {"script": {}}):
        with pytest.raises(ConfigError):
            faults.set(**bad)
    faults.set(script=[{"drop": True}], latency_ms=5)
    assert faults.next() == Fault(drop=True, latency_ms=5.0)
    assert faults.next() == Fault(latency_ms=5.0)


def test_loopback_check():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1") and is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.168.1.4") and not is_loopback("localhost-ish")
