"""/v2/subscription/status/set and v1 /subscription/status/set over real HTTP: grouping, bounds, refusals, state."""

from __future__ import annotations

import pytest

from connector.sandbox.subscriptions import BOTH, TOO_MANY

V2 = "/v2/subscription/status/set"
V1 = "/subscription/status/set"
EMAIL_GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
SMS_GROUP = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _group(group=EMAIL_GROUP, state="subscribed", **users):
    return {"subscription_group_id": group, "subscription_state": state, **users}


def test_several_groups_in_one_request(client):
    client.track(attributes=[{"external_id": "u1", "email": "u1@example.com"}, {"external_id": "u2"}])
    body = {"subscription_groups": [_group(external_ids=["u1", "u2"]),
                                    _group(SMS_GROUP, "unsubscribed", external_ids=["u2"]),
                                    _group(SMS_GROUP, "subscribed", emails=["u1@example.com"])]}
    answer = client.post(V2, body)
    assert (answer.status_code, answer.json()) == (201, {"message": "success"})
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(answer.headers)
    sb = client.sandbox
    assert sb.subscription(EMAIL_GROUP, external_id="u1") == "subscribed"
    assert sb.subscription(EMAIL_GROUP, external_id="u2") == "subscribed"
    assert sb.subscription(SMS_GROUP, external_id="u2") == "unsubscribed"
    assert sb.subscription(SMS_GROUP, email="u1@example.com") == "subscribed"
    assert sb.user("u1")["subscriptions"] == {SMS_GROUP: "subscribed", EMAIL_GROUP: "subscribed"}
    assert [r["object"] for r in sb.received(V2)] == body["subscription_groups"]
    assert sb.stats()["objects_received"] == 2 + 4   # two track objects, then four users


def test_at_most_50_users_counted_over_every_group(client):
    client.track(attributes=[{"external_id": f"u{i}"} for i in range(60)])
    ids = [f"u{i}" for i in range(60)]
    fifty = {"subscription_groups": [_group(external_ids=ids[:25]), _group(SMS_GROUP, external_ids=ids[:25])]}
    assert client.post(V2, fifty).status_code == 201
    fifty_one = {"subscription_groups": [_group(external_ids=ids[:25]), _group(SMS_GROUP, external_ids=ids[:26])]}
    refused = client.post(V2, fifty_one)
    assert (refused.status_code, refused.json()) == (400, {"message": TOO_MANY})
    assert client.post(V2, {"subscription_groups": [_group(external_ids=ids[:51])]}).status_code == 400
    assert client.post(V1, {**_group(SMS_GROUP), "external_id": ids[:51]}).status_code == 400
    assert len(client.sandbox.subscriptions(SMS_GROUP)) == 25


def test_emails_and_phones_never_in_one_request(client):
    across = {"subscription_groups": [_group(emails=["a@example.com"]), _group(SMS_GROUP, phones=["+15555550100"])]}
    together = {"subscription_groups": [_group(emails=["a@example.com"], phones=["+15555550100"])]}
    for path, body in ((V2, across), (V2, together),
                       (V1, {**_group(), "email": ["a@example.com"], "phone": ["+15555550100"]})):
        answer = client.post(path, body)
        assert (answer.status_code, answer.json()) == (400, {"message": BOTH})
    assert client.sandbox.users() == [] and client.sandbox.received() == []


@pytest.mark.parametrize("entry,where", [
    ({**_group(), "subscription_group_id": "g1", "external_ids": ["u1"]},
     "subscription_groups[1]: 'subscription_group_id'"),
    ({**_group(), "subscription_group_id": EMAIL_GROUP.replace("-", ""), "external_ids": ["u1"]},
     "subscription_groups[1]: 'subscription_group_id'"),
    (_group(state="opted_in", external_ids=["u1"]), "subscription_groups[1]: 'subscription_state'"),
    (_group(emails=["ok@example.com", "not an email"]), "subscription_groups[1].emails[1] is not a valid email"),
    (_group(SMS_GROUP, phones=["5555550100"]), "subscription_groups[1].phones[0] is not a phone number in E.164"),
    (_group(SMS_GROUP, phones=["+0123456"]), "subscription_groups[1].phones[0] is not a phone number in E.164"),
    (_group(external_ids=[7]), "subscription_groups[1].external_ids[0] is not a valid external_id"),
    (_group(external_ids=["x" * 988]), "EXTERNAL_USER_ID_TOO_LARGE"),
    (_group(external_ids={"u": 1}), "subscription_groups[1]: 'external_ids' must be a string or an array"),
    (_group(external_ids=["u1"], use_double_opt_in_logic="yes"), "'use_double_opt_in_logic' must be true or false"),
    (_group(), "subscription_groups[1]: one of 'external_ids', 'emails' or 'phones' is required"),
    ("not an object", "subscription_groups[1] must be an object"),
])
def test_one_bad_entry_refuses_the_whole_request_and_says_where(client, entry, where):
    client.track(attributes=[{"external_id": "u1"}])
    answer = client.post(V2, {"subscription_groups": [_group(external_ids=["u1"]), entry]})
    assert answer.status_code == 400
    assert where in answer.json()["message"]
    assert set(answer.json()) == {"message"}          # Braze gives no per-entry or per-user errors
    assert client.sandbox.subscriptions() == [] and client.sandbox.received(V2) == []


@pytest.mark.parametrize("body", [{}, {"subscription_groups": []}, {"subscription_groups": {"a": 1}}])
def test_no_groups_is_400(client, body):
    assert client.post(V2, body).status_code == 400


def test_unknown_users_email_and_phone_create_external_id_does_not(client):
    client.track(attributes=[{"external_id": "a", "email": "shared@example.com"},
                             {"external_id": "b", "email": "shared@example.com"}])
    client.post(V2, {"subscription_groups": [_group(external_ids=["ghost"], emails=["shared@example.com",
                                                                                      "new@example.com"])]})
    client.post(V2, {"subscription_groups": [_group(SMS_GROUP, phones=["+15555550100"])]})
    sb = client.sandbox
    assert sb.user("ghost") is None
    assert [s["external_id"] for s in sb.subscriptions(EMAIL_GROUP) if s["email"] == "shared@example.com"] == ["a", "b"]
    created = sb.user(email="new@example.com")
    assert (created["external_id"], created["attributes"], created["subscriptions"]) == (
        None, {"email": "new@example.com"}, {EMAIL_GROUP: "subscribed"})
    assert sb.user(phone="+15555550100")["subscriptions"] == {SMS_GROUP: "subscribed"}
    assert len(sb.users()) == 4


def test_a_repeated_request_changes_nothing_and_a_new_state_replaces_the_old(client):
    client.track(attributes=[{"external_id": "u1"}])
    body = {"subscription_groups": [_group(external_ids=["u1"], use_double_opt_in_logic=True)]}
    assert [client.post(V2, body).status_code for _ in range(2)] == [201, 201]
    [state] = client.sandbox.subscriptions()
    assert (state["state"], state["seq"], state["use_double_opt_in_logic"]) == ("subscribed", 2, True)
    assert client.sandbox.user("u1")["applied"] == 2   # the track object, then one change
    client.post(V2, {"subscription_groups": [_group(state="unsubscribed", external_ids=["u1"])]})
    [state] = client.sandbox.subscriptions()
    assert (state["state"], state["seq"]) == ("unsubscribed", 4)


def test_v1_takes_one_group_with_strings_or_arrays(client):
    client.track(attributes=[{"external_id": "u1"}])
    answer = client.post(V1, {**_group(SMS_GROUP, "unsubscribed"), "external_id": "u1", "phone": ["+4722334455"]})
    assert (answer.status_code, answer.json()) == (201, {"message": "success"})
    assert client.sandbox.subscription(SMS_GROUP, external_id="u1") == "unsubscribed"
    assert client.sandbox.subscription(SMS_GROUP, phone="+4722334455") == "unsubscribed"
    assert client.post(V1, {**_group(SMS_GROUP), "phone": "+4722"}).status_code == 201
    bad = client.post(V1, {**_group(SMS_GROUP), "phone": ["4722"]})
    assert bad.status_code == 400 and bad.json()["message"].startswith("phone[0] ")


def test_track_subscription_groups_set_the_same_state(client):
    client.track(attributes=[{"external_id": "u1", "subscription_groups": [
        {"subscription_group_id": EMAIL_GROUP, "subscription_state": "unsubscribed"}]}])
    user = client.sandbox.user("u1")
    assert user["subscriptions"] == {EMAIL_GROUP: "unsubscribed"} and "subscription_groups" not in user["attributes"]
    client.post(V2, {"subscription_groups": [_group(external_ids=["u1"])]})
    assert client.sandbox.subscription(EMAIL_GROUP, "u1") == "subscribed"
