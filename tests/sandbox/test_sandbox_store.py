"""What the sandbox stores after sequences of requests, with Braze's semantics."""

from __future__ import annotations

import threading

import requests

ALIAS = {"alias_name": "a1", "alias_label": "crm"}


def test_profile_after_a_sequence_of_updates(client):
    steps = [
        {"external_id": "u1", "first_name": "Ann", "gone": "x", "n": 1, "tags": ["a", "b"],
         "fav": {"title": "A", "meta": {"year": 1960}}, "email": "ann@example.com"},
        {"external_id": "u1", "gone": None, "n": {"inc": 4}, "tags": {"add": ["c"], "remove": ["a"]}},
        {"external_id": "u1", "_merge_objects": True, "fav": {"meta": {"genre": "noir"}}},
    ]
    for step in steps:
        assert client.track(attributes=[step]).status_code == 201
    user = client.sandbox.user(external_id="u1")
    assert user["attributes"] == {"first_name": "Ann", "n": 5, "tags": ["b", "c"], "email": "ann@example.com",
                                  "fav": {"title": "A", "meta": {"year": 1960, "genre": "noir"}}}
    assert user["email"] == "ann@example.com"
    assert user["applied"] == 3
    assert len(user["braze_id"]) == 24
    assert client.sandbox.user(email="ann@example.com")["external_id"] == "u1"
    assert client.sandbox.user(braze_id=user["braze_id"])["external_id"] == "u1"
    client.track(attributes=[{"external_id": "u1", "fav": {"title": "B"}}])
    assert client.sandbox.user("u1")["attributes"]["fav"] == {"title": "B"}


def test_update_existing_only_and_alias_defaults(client):
    client.track(attributes=[{"external_id": "new", "_update_existing_only": True, "a": 1},
                             {"user_alias": ALIAS, "a": 1}])
    assert client.sandbox.users() == []
    client.track(attributes=[{"user_alias": ALIAS, "_update_existing_only": False, "a": 2}])
    assert client.sandbox.user(alias=ALIAS)["attributes"] == {"a": 2}
    client.track(attributes=[{"user_alias": ALIAS, "a": 3}])
    assert client.sandbox.user(alias=("crm", "a1"))["attributes"] == {"a": 3}


def test_events_and_purchases_stored_per_user_alias_never_creates(client):
    other = {"alias_name": "zz", "alias_label": "crm"}
    answer = client.track(events=[client.event("u1", properties={"level": 3}), {**client.event("x"), "external_id": None}],
                          purchases=[client.purchase("u1", quantity=3)])
    assert answer.status_code == 201
    client.track(events=[{"user_alias": other, "name": "e", "time": "2024-01-01T00:00:00Z"}])
    assert client.sandbox.user(alias=other) is None
    user = client.sandbox.user("u1")
    assert [(e["name"], e["properties"]) for e in user["events"]] == [("played", {"level": 3})]
    assert [(p["product_id"], p["quantity"], p["price"]) for p in user["purchases"]] == [("p1", 3, 9.5)]
    assert [e["external_id"] for e in client.sandbox.events("played")] == ["u1"]
    assert client.sandbox.events("nothing") == []
    assert len(client.sandbox.purchases()) == 1


def test_email_identifies_when_no_primary(client):
    client.track(attributes=[{"email": "e@example.com", "city": "Oslo"}])
    client.track(attributes=[{"email": "e@example.com", "zip": "0150"}])
    users = client.sandbox.users()
    assert len(users) == 1
    assert users[0]["external_id"] is None
    assert users[0]["attributes"] == {"email": "e@example.com", "city": "Oslo", "zip": "0150"}


def test_alias_new_then_identify_gives_the_alias_profile_the_external_id(client):
    client.post("/users/alias/new", {"user_aliases": [ALIAS]})
    client.track(attributes=[{"user_alias": ALIAS, "score": 7}],
                 events=[{"user_alias": ALIAS, "name": "seen", "time": "2024-01-01T00:00:00Z"}])
    client.post("/users/identify", {"aliases_to_identify": [{"external_id": "u9", "user_alias": ALIAS}]})
    user = client.sandbox.user("u9")
    assert user["aliases"] == [ALIAS]
    assert user["attributes"] == {"score": 7}
    assert [e["name"] for e in user["events"]] == ["seen"]
    assert len(client.sandbox.users()) == 1


def test_identify_merges_an_alias_profile_into_an_existing_user(client):
    client.track(attributes=[{"external_id": "u1", "a": "keep"}], events=[client.event("u1", "mine")])
    client.track(attributes=[{"user_alias": ALIAS, "_update_existing_only": False, "a": "lost", "b": "copied"}],
                 events=[{"user_alias": ALIAS, "name": "anon", "time": "2024-01-01T00:00:00Z"}])
    assert len(client.sandbox.users()) == 2
    client.post("/users/identify", {"aliases_to_identify": [{"external_id": "u1", "user_alias": ALIAS}]})
    users = client.sandbox.users()
    assert len(users) == 1
    assert users[0]["attributes"] == {"a": "keep", "b": "copied"}
    assert sorted(e["name"] for e in users[0]["events"]) == ["anon", "mine"]
    assert users[0]["aliases"] == [ALIAS]


def test_alias_new_with_external_id_adds_the_alias(client):
    client.track(attributes=[{"external_id": "u1", "a": 1}])
    client.post("/users/alias/new", {"user_aliases": [{**ALIAS, "external_id": "u1"},
                                                      {"alias_name": "a2", "alias_label": "crm", "external_id": "u1"},
                                                      {"alias_name": "q", "alias_label": "x", "external_id": "nobody"}]})
    assert client.sandbox.user("u1")["aliases"] == [ALIAS]  # one name per label
    assert client.sandbox.user(alias=ALIAS)["external_id"] == "u1"
    assert len(client.sandbox.users()) == 1


def test_delete_by_each_identifier_kind(client):
    client.track(attributes=[{"external_id": f"u{i}", "a": i} for i in range(3)],
                 events=[client.event("u0")])
    client.post("/users/alias/new", {"user_aliases": [{**ALIAS, "external_id": "u2"}]})
    braze_id = client.sandbox.user("u1")["braze_id"]
    assert client.post("/users/delete", {"external_ids": ["u0"]}).json()["deleted"] == 1
    assert client.post("/users/delete", {"braze_ids": [braze_id]}).status_code == 201
    assert [u["external_id"] for u in client.sandbox.users()] == ["u2"]
    assert client.post("/users/delete", {"user_aliases": [ALIAS]}).status_code == 201
    assert client.sandbox.users() == [] and client.sandbox.events() == []


def test_received_log_and_times_received(client):
    e1, e2 = client.event("u1", "a"), client.event("u2", "b")
    client.track(events=[e1, e2])
    client.post("/users/alias/new", {"user_aliases": [ALIAS]})
    client.track(events=[e1])
    log = client.sandbox.received()
    assert [(r["seq"], r["path"], r["array"], r["object"]) for r in log] == [
        (1, "/users/track", "events", e1), (1, "/users/track", "events", e2),
        (2, "/users/alias/new", "user_aliases", ALIAS), (3, "/users/track", "events", e1)]
    assert client.sandbox.times_received(e1) == 2 and client.sandbox.times_received(e2) == 1
    assert [r["object"] for r in client.sandbox.received("/users/alias/new")] == [ALIAS]
    requests_seen = client.sandbox.requests()
    assert [(r["seq"], r["status"]) for r in requests_seen] == [(1, 201), (2, 201), (3, 201)]
    assert requests_seen[0]["body"] == {"events": [e1, e2]}


def test_file_store_survives_a_restart(tmp_path, make_client):
    db = str(tmp_path / "s.sqlite")
    first = make_client(db_path=db)
    first.track(attributes=[{"external_id": "u1", "a": 1}])
    first.sandbox.stop()
    second = make_client(db_path=db)
    second.track(attributes=[{"external_id": "u1", "b": 2}])
    assert second.sandbox.user("u1")["attributes"] == {"a": 1, "b": 2}
    assert [r["seq"] for r in second.sandbox.requests()] == [1, 2]


def test_concurrent_requests_each_object_applied_once(make_client):
    first = make_client()
    url = first.sandbox.url
    errors: list[int] = []

    def worker(n: int) -> None:
        with requests.Session() as session:
            for i in range(15):
                body = {"events": [first.event(f"u{n}", f"e{i}-{j}") for j in range(5)],
                        "attributes": [{"external_id": f"u{n}", "count": {"inc": 1}}]}
                answer = session.post(url + "/users/track", json=body, timeout=10,
                                      headers={"Authorization": f"Bearer {first.sandbox.app.options.api_key}"})
                if answer.status_code != 201:
                    errors.append(answer.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(first.sandbox.received()) == 4 * 15 * 6
    for n in range(4):
        user = first.sandbox.user(f"u{n}")
        assert user["attributes"]["count"] == 15
        assert sorted(e["name"] for e in user["events"]) == sorted(f"e{i}-{j}" for i in range(15) for j in range(5))
    assert [r["seq"] for r in first.sandbox.requests()] == list(range(1, 61))
