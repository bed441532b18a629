"""Status codes and bodies of the four endpoints, over real HTTP."""

from __future__ import annotations

import pytest

from connector.sandbox.core import MAX_BODY


def test_missing_and_wrong_key_get_401_without_echoing_the_key(client):
    missing = client.post("/users/track", {"attributes": [{"external_id": "u"}]}, key=None)
    wrong = client.post("/users/track", {"attributes": [{"external_id": "u"}]}, key="secret-wrong-key-123")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert wrong.json()["message"].startswith("Invalid API key")
    assert "secret-wrong-key-123" not in wrong.text
    assert client.sandbox.received() == []


def test_key_is_checked_before_the_body(client):
    assert client.post("/users/track", data=b"", key="bad").status_code == 401
    empty = client.post("/users/track", data=b"")
    assert empty.status_code == 400
    assert "Valid data must be provided" in empty.json()["message"]
    assert client.post("/users/track", {}).status_code == 400


def test_bad_json_and_non_objects_get_400(client):
    assert client.post("/users/track", data=b"{not json").status_code == 400
    assert client.post("/users/track", data=b'{"attributes": [{"external_id": "u", "x": NaN}]}').status_code == 400
    assert client.post("/users/track", [1, 2]).status_code == 400


def test_body_over_4mb_gets_413_and_connection_stays_usable(client):
    too_big = b'{"attributes": []}' + b" " * (MAX_BODY - 17)
    assert len(too_big) == MAX_BODY + 1
    assert client.post("/users/track", data=too_big).status_code == 413
    ok = client.track(attributes=[{"external_id": "u1", "a": 1}])
    assert ok.status_code == 201


@pytest.mark.parametrize("limit,arrays,status", [
    ("combined_75", {"attributes": 40, "events": 35}, 201),
    ("combined_75", {"attributes": 40, "events": 36}, 400),
    ("per_array_75", {"attributes": 75, "events": 75, "purchases": 75}, 201),
    ("per_array_75", {"events": 76}, 400),
    ("combined_50", {"attributes": 25, "events": 25}, 201),
    ("combined_50", {"attributes": 25, "events": 26}, 400),
])
def test_track_object_limits(make_client, limit, arrays, status):
    c = make_client(track_limit=limit)
    build = {"attributes": lambda i: {"external_id": f"u{i}", "n": i}, "events": lambda i: c.event(f"u{i}"),
             "purchases": lambda i: c.purchase(f"u{i}")}
    body = {name: [build[name](i) for i in range(count)] for name, count in arrays.items()}
    answer = c.post("/users/track", body)
    assert answer.status_code == status
    if status == 400:
        assert answer.json()["message"] == "Max Input Length Exceeded"
        assert c.sandbox.received() == []
    else:
        assert answer.json()[f"{next(iter(arrays))}_processed"] == next(iter(arrays.values()))


def test_partial_success_names_bad_objects_by_array_and_index(client):
    answer = client.track(
        attributes=[{"external_id": "a1", "x": 1}, {"x": 2}],
        events=[client.event("e1"), client.event("e2", time="yesterday"), {"external_id": "e3", "time": "2024-01-01"}],
        purchases=[client.purchase("p1", quantity=101), client.purchase("p2")])
    assert answer.status_code == 201
    body = answer.json()
    assert body["message"] == "success"
    assert (body["attributes_processed"], body["events_processed"], body["purchases_processed"]) == (1, 1, 1)
    assert [(e["input_array"], e["index"]) for e in body["errors"]] == [
        ("attributes", 1), ("events", 1), ("events", 2), ("purchases", 0)]
    assert body["errors"][2]["type"] == "'name' is required"
    assert body["errors"][3]["type"] == "'quantity' is not valid"
    assert [(r["array"], r["object"].get("external_id")) for r in client.sandbox.received()] == [
        ("attributes", "a1"), ("events", "e1"), ("purchases", "p2")]
    assert client.sandbox.user("e2") is None and client.sandbox.user("e1") is not None


def test_all_bad_objects_get_400_with_the_errors(client):
    answer = client.track(events=[{"name": "x", "time": "2024-01-01"}])
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
        "errors": [{"type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
                    "input_array": "events", "index": 0}]}
    assert client.sandbox.users() == []


def test_processed_counts_only_for_arrays_sent(client):
    answer = client.track(events=[client.event("u1"), client.event("u2")])
    assert answer.json() == {"message": "success", "events_processed": 2}


def test_users_endpoints_answer_201_with_counts(client):
    aliases = [{"alias_name": f"n{i}", "alias_label": "crm"} for i in range(3)]
    new = client.post("/users/alias/new", {"user_aliases": aliases})
    assert (new.status_code, new.json()) == (201, {"aliases_processed": 3, "message": "success"})
    ident = client.post("/users/identify", {"aliases_to_identify": [
        {"external_id": "x0", "user_alias": aliases[0]}, {"external_id": "x1", "user_alias": {"alias_name": 1}}]})
    assert ident.status_code == 201
    assert ident.json()["aliases_processed"] == 1
    assert ident.json()["errors"][0]["input_array"] == "aliases_to_identify"
    assert ident.json()["errors"][0]["index"] == 1
    gone = client.post("/users/delete", {"external_ids": ["x0", "nobody"]})
    assert (gone.status_code, gone.json()) == (201, {"deleted": 2, "message": "success"})


@pytest.mark.parametrize("path,body", [
    ("/users/identify", {"aliases_to_identify": [
        {"external_id": f"u{i}", "user_alias": {"alias_name": f"a{i}", "alias_label": "l"}} for i in range(51)]}),
    ("/users/alias/new", {"user_aliases": [{"alias_name": f"a{i}", "alias_label": "l"} for i in range(51)]}),
    ("/users/delete", {"external_ids": [f"u{i}" for i in range(51)]}),
    ("/users/delete", {"external_ids": ["u1"], "braze_ids": ["b1"]}),
    ("/users/identify", {}),
    ("/users/delete", {}),
])
def test_users_endpoints_refuse_over_50_mixed_kinds_and_nothing(client, path, body):
    assert client.post(path, body).status_code == 400
    assert client.sandbox.received() == []


def test_up_to_50_identifiers_are_accepted(client):
    assert client.post("/users/delete", {"braze_ids": [f"b{i}" for i in range(50)]}).status_code == 201


def test_unknown_path_and_wrong_method(client):
    assert client.post("/users/export/ids", {}).status_code == 404   # /users/merge is modelled now
    assert client.session.get(client.sandbox.url + "/users/track", timeout=5).status_code == 405
