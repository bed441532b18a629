"""Faults (script, rates, drops, latency) and sink mode on the subscription, merge and rename endpoints."""

from __future__ import annotations

import time

import pytest
import requests

GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
SUBSCRIBE = {"subscription_groups": [{"subscription_group_id": GROUP, "subscription_state": "subscribed",
                                      "external_ids": ["u1"]}]}
MERGE = {"merge_updates": [{"identifier_to_merge": {"external_id": "u2"}, "identifier_to_keep": {"external_id": "u1"}}]}
RENAME = {"external_id_renames": [{"current_external_id": "u1", "new_external_id": "u1-new"}]}


def _users(client):
    client.track(attributes=[{"external_id": "u1"}, {"external_id": "u2", "from_u2": True}])


def test_script_entries_answer_the_new_paths_without_applying(client):
    _users(client)
    client.sandbox.set_faults(script=[{"status": 503}, {"status": 429, "retry_after": 0.5}, {"status": 500}])
    subscribed = client.post("/v2/subscription/status/set", SUBSCRIBE)
    limited = client.post("/users/merge", MERGE)
    failed = client.post("/users/external_ids/rename", RENAME)
    assert [subscribed.status_code, limited.status_code, failed.status_code] == [503, 429, 500]
    assert limited.headers["X-Ratelimit-Retry-After"] == "0.5"
    assert client.sandbox.subscriptions() == [] and client.sandbox.merges() == []
    assert client.sandbox.user("u1")["external_id"] == "u1"
    assert client.post("/users/external_ids/rename", RENAME).json()["external_ids"] == ["u1"]
    assert client.sandbox.stats()["faults"] == 3


def test_a_dropped_merge_is_still_applied_when_drops_apply(client):
    _users(client)
    client.sandbox.set_faults(script=[{"drop": True}])
    with pytest.raises(requests.ConnectionError):
        client.post("/users/merge", MERGE)
    client.sandbox.wait_for_merges()
    assert client.sandbox.user("u2") is None and client.sandbox.user("u1")["attributes"] == {"from_u2": True}
    assert client.sandbox.requests("/users/merge")[0]["status"] is None


def test_drops_that_do_not_apply_leave_the_store_alone(make_client):
    c = make_client()
    _users(c)
    c.sandbox.set_faults(drop_rate=1.0, drop_applies=False)
    for path, body in (("/v2/subscription/status/set", SUBSCRIBE), ("/users/external_ids/rename", RENAME),
                       ("/users/merge", MERGE)):
        with pytest.raises(requests.ConnectionError):
            c.post(path, body)
    c.sandbox.wait_for_merges()
    assert c.sandbox.subscriptions() == [] and c.sandbox.merges() == [] and c.sandbox.renames() == []
    assert c.sandbox.stats()["dropped"] == 3


def test_fail_rate_and_latency_reach_the_new_paths(make_client):
    c = make_client(fail_rate=1.0, fail_status=502)
    assert c.post("/users/external_ids/remove", {"external_ids": ["x"]}).status_code == 502
    c.sandbox.set_faults(fail_rate=0.0, latency_ms=120)
    started = time.monotonic()
    assert c.post("/subscription/status/set", {**SUBSCRIBE["subscription_groups"][0], "external_ids": None,
                                               "external_id": "u1"}).status_code == 201
    assert time.monotonic() - started >= 0.12


def test_sink_mode_accepts_the_new_paths(make_client):
    c = make_client(sink=True)
    assert (c.post("/users/merge", {"merge_updates": "anything"}).status_code,
            c.post("/users/merge", MERGE).json()) == (202, {"message": "success"})
    renamed = c.post("/users/external_ids/rename", RENAME)
    assert (renamed.status_code, renamed.json()) == (200, {"message": "success", "external_ids": ["u1"],
                                                           "rename_errors": []})
    assert c.post("/users/external_ids/remove", {"external_ids": ["a", "b"]}).json()["removed_ids"] == ["a", "b"]
    assert c.post("/v2/subscription/status/set", {"emails": "x", "phones": "y"}).status_code == 201
    stats = c.sandbox.stats()
    assert stats["by_path"]["/users/merge"] == {"202": 2} and stats["requests"] == 5
    assert c.sandbox.subscriptions() == [] and c.sandbox.merges() == [] and c.sandbox.users() == []
