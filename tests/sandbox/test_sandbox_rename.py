"""/users/external_ids/rename and /remove over real HTTP: deprecated ids still identify, per-entry errors."""

from __future__ import annotations

import pytest

from connector.sandbox import renames

RENAME = "/users/external_ids/rename"
REMOVE = "/users/external_ids/remove"


def _rename(current, new):
    return {"current_external_id": current, "new_external_id": new}


def test_rename_then_the_old_and_the_new_id_find_the_same_user(client):
    client.track(attributes=[{"external_id": "old", "a": 1}], events=[client.event("old", "before")])
    answer = client.post(RENAME, {"external_id_renames": [_rename("old", "new")]})
    assert (answer.status_code, answer.json()) == (200, {"message": "success", "external_ids": ["old"],
                                                         "rename_errors": []})
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(answer.headers)
    sb = client.sandbox
    user = sb.user("new")
    assert (user["external_id"], user["deprecated_external_ids"]) == ("new", ["old"])
    assert sb.user("old")["braze_id"] == user["braze_id"]
    client.track(attributes=[{"external_id": "old", "b": 2}], events=[client.event("old", "after")])
    client.post("/v2/subscription/status/set", {"subscription_groups": [
        {"subscription_group_id": "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b", "subscription_state": "subscribed",
         "external_ids": ["old"]}]})
    user = sb.user("new")
    assert user["attributes"] == {"a": 1, "b": 2} and [e["name"] for e in user["events"]] == ["before", "after"]
    assert user["subscriptions"] and len(sb.users()) == 1
    assert [e["external_id"] for e in sb.events()] == ["new", "new"]    # shown under the primary id
    assert sb.renames() == [{"seq": 2, "kind": "rename", "old": "old", "new": "new", "braze_id": user["braze_id"]}]
    assert client.post("/users/delete", {"external_ids": ["old"]}).json()["deleted"] == 1
    assert sb.users() == [] and sb.user("new") is None


def test_each_refused_rename_is_named_by_its_index_and_reason(client):
    client.track(attributes=[{"external_id": x} for x in ("a", "b", "taken", "d")])
    client.post(RENAME, {"external_id_renames": [_rename("d", "d2")]})   # "d" is now deprecated
    entries = [_rename("a", "a2"), _rename("b", "b"), _rename("ghost", "g2"), _rename("a", "a3"),
               _rename("b", "taken"), _rename("b", "d"), _rename("d", "d3"), "nope", {"current_external_id": "b"},
               _rename("b", 7), _rename("b", "x" * 988), _rename("b", "b2")]
    answer = client.post(RENAME, {"external_id_renames": entries})
    assert answer.status_code == 200
    assert answer.json() == {"message": "success", "external_ids": ["a", "b"], "rename_errors": [
        [1, renames.SAME], [2, renames.UNKNOWN], [3, renames.DEPRECATED], [4, renames.TAKEN], [5, renames.TAKEN],
        [6, renames.DEPRECATED], [7, renames.NOT_AN_ENTRY], [8, renames.NOT_AN_ENTRY], [9, renames.NOT_AN_ENTRY],
        [10, "EXTERNAL_USER_ID_TOO_LARGE"]]}
    assert client.sandbox.user("a2")["deprecated_external_ids"] == ["a"]
    assert client.sandbox.user("b2")["deprecated_external_ids"] == ["b"]
    assert [r["object"] for r in client.sandbox.received(RENAME)] == [_rename("d", "d2"), entries[0], entries[11]]


def test_renames_in_one_request_apply_in_order(client):
    client.track(attributes=[{"external_id": "v1"}])
    answer = client.post(RENAME, {"external_id_renames": [_rename("v1", "v2"), _rename("v2", "v3")]})
    assert answer.json()["external_ids"] == ["v1", "v2"]
    user = client.sandbox.user("v1")
    assert (user["external_id"], user["deprecated_external_ids"]) == ("v3", ["v1", "v2"])


def test_remove_drops_deprecated_ids_only(client):
    client.track(attributes=[{"external_id": "old", "a": 1}])
    client.post(RENAME, {"external_id_renames": [_rename("old", "new")]})
    answer = client.post(REMOVE, {"external_ids": ["new", "old", "ghost", 5, "old"]})
    assert (answer.status_code, answer.json()) == (200, {"message": "success", "removed_ids": ["old"],
                                                         "removal_errors": [
        [0, renames.PRIMARY], [2, renames.NOT_DEPRECATED_UNKNOWN], [3, renames.NOT_A_STRING],
        [4, renames.NOT_DEPRECATED_UNKNOWN]]})
    sb = client.sandbox
    assert sb.user("old") is None and sb.user("new")["deprecated_external_ids"] == []
    assert [r["kind"] for r in sb.renames()] == ["rename", "remove"]
    client.track(attributes=[{"external_id": "old", "fresh": True}])       # free again: a new profile
    assert sb.user("old")["braze_id"] != sb.user("new")["braze_id"]


@pytest.mark.parametrize("path,key", [(RENAME, "external_id_renames"), (REMOVE, "external_ids")])
def test_request_limits(client, path, key):
    entry = _rename("a", "b") if path == RENAME else "a"
    assert client.post(path, {}).status_code == 400
    assert client.post(path, {key: []}).status_code == 400
    assert client.post(path, {key: "a"}).status_code == 400
    too_many = client.post(path, {key: [entry] * 51})
    assert too_many.status_code == 400 and "more than 50" in too_many.json()["message"]
    assert client.post(path, {key: [entry] * 50}).status_code == 200
