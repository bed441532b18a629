"""Sink mode: every authorised request gets 201 at once; counted, not validated, not stored."""

from __future__ import annotations


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
