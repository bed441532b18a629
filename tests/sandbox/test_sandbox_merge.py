"""/users/merge over real HTTP: 202 at once, merges applied afterwards in order, and what the kept profile holds."""

from __future__ import annotations

import pytest

from connector.sandbox import Sandbox, merges

PATH = "/users/merge"
GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
OTHER_GROUP = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ALIAS = {"alias_name": "a1", "alias_label": "crm"}


def _update(merge, keep):
    return {"identifier_to_merge": merge, "identifier_to_keep": keep}


def _two_users(client):
    client.track(attributes=[{"external_id": "old", "a": 1, "b": "old", "city": "Oslo"},
                             {"external_id": "keep", "b": "keep"}],
                 events=[client.event("old", "from-old"), client.event("keep", "mine")],
                 purchases=[client.purchase("old")])
    client.post("/v2/subscription/status/set", {"subscription_groups": [
        {"subscription_group_id": GROUP, "subscription_state": "unsubscribed", "external_ids": ["old"]},
        {"subscription_group_id": OTHER_GROUP, "subscription_state": "subscribed", "external_ids": ["old"]},
        {"subscription_group_id": GROUP, "subscription_state": "subscribed", "external_ids": ["keep"]}]})


def test_202_then_the_merge_is_applied_and_the_merged_profile_is_gone(client):
    _two_users(client)
    old_braze_id = client.sandbox.user("old")["braze_id"]
    answer = client.post(PATH, {"merge_updates": [_update({"external_id": "old"}, {"external_id": "keep"})]})
    assert (answer.status_code, answer.json()) == (202, {"message": "success"})
    client.sandbox.wait_for_merges(timeout=10)
    kept = client.sandbox.user("keep")
    assert kept["attributes"] == {"a": 1, "b": "keep", "city": "Oslo"}      # the kept profile's values win
    assert sorted(e["name"] for e in kept["events"]) == ["from-old", "mine"]
    assert [p["product_id"] for p in kept["purchases"]] == ["p1"]
    assert kept["subscriptions"] == {GROUP: "subscribed", OTHER_GROUP: "subscribed"}
    assert client.sandbox.user("old") is None and client.sandbox.user(braze_id=old_braze_id) is None
    assert len(client.sandbox.users()) == 1
    [done] = client.sandbox.merges()
    assert (done["status"], done["merged_braze_id"], done["kept_braze_id"]) == ("merged", old_braze_id,
                                                                                kept["braze_id"])
    assert client.sandbox.received(PATH)[0]["object"] == _update({"external_id": "old"}, {"external_id": "keep"})


def test_manual_mode_keeps_merges_pending_until_applied(make_client):
    c = make_client(merges="manual")
    _two_users(c)
    update = _update({"external_id": "old"}, {"external_id": "keep"})
    assert c.post(PATH, {"merge_updates": [update]}).status_code == 202
    assert [m["status"] for m in c.sandbox.merges()] == ["pending"]
    assert c.sandbox.user("old") is not None and len(c.sandbox.users()) == 2
    with pytest.raises(TimeoutError):
        c.sandbox.wait_for_merges(timeout=0)
    assert c.control("POST", "/_sandbox/merges/apply").json() == {"applied": 1}
    assert c.sandbox.user("old") is None
    assert c.control("GET", "/_sandbox/merges").json()[0]["status"] == "merged"
    assert c.sandbox.apply_merges() == 0


def test_updates_are_applied_in_order_across_requests(client):
    client.track(attributes=[{"external_id": name, name: True} for name in ("a", "b", "c")])
    client.post(PATH, {"merge_updates": [_update({"external_id": "a"}, {"external_id": "b"})]})
    client.post(PATH, {"merge_updates": [_update({"external_id": "b"}, {"external_id": "c"}),
                                         _update({"external_id": "c"}, {"external_id": "c"})]})
    client.sandbox.wait_for_merges()
    [only] = client.sandbox.users()
    assert (only["external_id"], only["attributes"]) == ("c", {"a": True, "b": True, "c": True})
    assert [(m["seq"], m["index"], m["status"]) for m in client.sandbox.merges()] == [
        (2, 0, "merged"), (3, 0, "merged"), (3, 1, "skipped")]
    assert client.sandbox.merges()[2]["outcome"] == "both identifiers name the same profile"


def test_merging_an_unknown_profile_does_nothing(client):
    client.track(attributes=[{"external_id": "u1", "a": 1}])
    client.post(PATH, {"merge_updates": [_update({"external_id": "ghost"}, {"external_id": "u1"}),
                                         _update({"external_id": "u1"}, {"user_alias": ALIAS})]})
    client.sandbox.wait_for_merges()
    assert client.sandbox.user("u1")["attributes"] == {"a": 1}
    assert [m["outcome"] for m in client.sandbox.merges()] == [
        "identifier_to_merge: no such profile", "identifier_to_keep: no such profile"]


def test_alias_email_and_phone_identifiers_with_prioritization(client):
    client.track(attributes=[{"email": "x@example.com", "anon": True},   # first, or it would update "known"
                             {"external_id": "known", "email": "x@example.com", "n": 1},
                             {"user_alias": ALIAS, "_update_existing_only": False, "from_alias": 1},
                             {"external_id": "p1", "phone": "+15555550100"}, {"external_id": "p2"}])
    client.post(PATH, {"merge_updates": [
        _update({"email": "x@example.com", "prioritization": ["unidentified"]}, {"external_id": "known"}),
        _update({"user_alias": ALIAS}, {"email": "x@example.com", "prioritization": ["identified"]}),
        _update({"phone": "+15555550100", "prioritization": ["most_recently_updated"]}, {"external_id": "p2"})]})
    client.sandbox.wait_for_merges()
    assert [m["status"] for m in client.sandbox.merges()] == ["merged", "merged", "merged"]
    assert client.sandbox.user("known")["attributes"] == {"email": "x@example.com", "n": 1, "anon": True,
                                                          "from_alias": 1}
    assert client.sandbox.user("p2")["phone"] == "+15555550100" and client.sandbox.user("p1") is None


def test_an_email_left_ambiguous_by_the_prioritization_merges_nothing(client):
    client.track(attributes=[{"external_id": t, "email": "twin@example.com"} for t in ("t1", "t2")] +
                 [{"external_id": "k"}])
    client.post(PATH, {"merge_updates": [_update({"email": "twin@example.com", "prioritization": ["identified"]},
                                                 {"external_id": "k"})]})
    client.sandbox.wait_for_merges()
    assert len(client.sandbox.users()) == 3
    assert client.sandbox.merges()[0]["outcome"] == (
        "identifier_to_merge: 2 profiles with that email are left after the prioritization")


GOOD = _update({"external_id": "a"}, {"external_id": "b"})


@pytest.mark.parametrize("body,message", [
    ({}, merges.NOT_ARRAY),
    ({"merge_updates": []}, merges.NOT_ARRAY),
    ({"merge_updates": [GOOD, "x"]}, merges.NOT_ARRAY),
    ({"merge_updates": [GOOD] * 51}, merges.TOO_MANY),
    ({"merge_updates": [{**GOOD, "extra": 1}]}, merges.ONLY_TWO),
    ({"merge_updates": [{"identifier_to_merge": {"external_id": "a"}}]}, merges.ONLY_TWO),
    ({"merge_updates": [_update({"external_id": 5}, {"external_id": "b"})]}, merges.BAD_IDENTIFIER),
    ({"merge_updates": [_update({"external_id": "a", "user_alias": ALIAS}, {"external_id": "b"})]},
     merges.BAD_IDENTIFIER),
    ({"merge_updates": [_update({"braze_id": "x"}, {"external_id": "b"})]}, merges.BAD_IDENTIFIER),
    ({"merge_updates": [_update({"user_alias": {"alias_name": "n"}}, {"external_id": "b"})]}, merges.BAD_IDENTIFIER),
    ({"merge_updates": [_update({"email": "a@example.com"}, {"external_id": "b"})]}, merges.NO_PRIORITIZATION),
    ({"merge_updates": [_update({"phone": "+1555", "prioritization": ["identified", "unidentified"]},
                                {"external_id": "b"})]}, merges.BAD_PRIORITIZATION),
    ({"merge_updates": [_update({"email": "a@example.com", "prioritization": ["newest"]}, {"external_id": "b"})]},
     merges.BAD_PRIORITIZATION),
])
def test_malformed_bodies_get_400_and_nothing_is_queued(client, body, message):
    answer = client.post(PATH, body)
    assert (answer.status_code, answer.json()) == (400, {"message": message})
    assert client.sandbox.merges() == [] and client.sandbox.received() == []


def test_50_updates_are_accepted(client):
    assert client.post(PATH, {"merge_updates": [GOOD] * 50}).status_code == 202
    client.sandbox.wait_for_merges()
    assert len(client.sandbox.merges()) == 50


def test_merges_left_pending_in_a_file_store_are_applied_on_the_next_start(tmp_path, make_client):
    db = str(tmp_path / "m.sqlite")
    first = make_client(db_path=db, merges="manual")
    first.track(attributes=[{"external_id": "a", "x": 1}, {"external_id": "b"}])
    first.post(PATH, {"merge_updates": [GOOD]})
    first.sandbox.stop()
    with Sandbox(api_key="k", db_path=db) as second:
        second.wait_for_merges()
        assert [u["external_id"] for u in second.users()] == ["b"]
        assert second.user("b")["attributes"] == {"x": 1}
