"""The sandbox's own model of Braze's per-object rules, tested directly (pure functions)."""

from __future__ import annotations

import pytest

from connector.sandbox import rules

T = "2024-05-01T10:00:00Z"
GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


@pytest.mark.parametrize("obj,reason", [
    ({"external_id": "u"}, None),
    ({"braze_id": "b"}, None),
    ({"user_alias": {"alias_name": "n", "alias_label": "l"}}, None),
    ({"email": "a@b.co"}, None),
    ({"phone": "+15555550100"}, None),
    ({}, rules.MISSING_ID),
    ({"external_id": "u", "braze_id": "b"}, rules.SEVERAL_IDS),
    ({"external_id": 5}, "'external_id' must be a string"),
    ({"external_id": "x" * 988}, "EXTERNAL_USER_ID_TOO_LARGE"),
    ({"external_id": "é" * 494}, "EXTERNAL_USER_ID_TOO_LARGE"),
    ({"external_id": "x" * 987}, None),
    ({"user_alias": {"alias_name": "n"}}, "'user_alias' must have string 'alias_name' and 'alias_label'"),
])
def test_identifiers(obj, reason):
    assert rules.check_identifier(obj) == reason


@pytest.mark.parametrize("changes,reason", [
    ({}, None),
    ({"email": "not-an-email"}, "EMAIL_BAD_FORMAT"),
    ({"email": None}, None),
    ({"email_subscribe": "opted_in", "push_subscribe": "unsubscribed"}, None),
    ({"email_subscribe": "yes"}, "BAD_EMAIL_SUBSCRIPTION_STATE"),
    ({"push_subscribe": "no"}, "BAD_PUSH_SUBSCRIPTION_STATE"),
    ({"gender": "F"}, None),
    ({"gender": None}, None),
    ({"gender": "female"}, "'gender' is not valid"),
    ({"subscription_groups": [{"subscription_group_id": GROUP, "subscription_state": "subscribed"}]}, None),
    ({"subscription_groups": [{"subscription_group_id": "g1", "subscription_state": "subscribed"}]},
     "BAD_SUBSCRIPTION_GROUP_ID"),
    ({"subscription_groups": [{"subscription_group_id": GROUP, "subscription_state": "on"}]},
     "BAD_SUBSCRIPTION_GROUP_STATE"),
    ({"subscription_groups": "x"}, "BAD_SUBSCRIPTION_GROUP_ARRAY"),
    ({"$bad": 1}, "attribute name is not valid"),
    ({"_update_existing_only": "false"}, "'_update_existing_only' is not valid"),
    ({"_merge_objects": True, "_update_existing_only": False}, None),
])
def test_attributes(changes, reason):
    assert rules.check_attributes({"external_id": "u", **changes}) == reason


@pytest.mark.parametrize("changes,reason", [
    ({}, None),
    ({"time": "2013-02-20T20:14:15:123Z"}, None),
    ({"time": "2024-05-01"}, None),
    ({"time": "May 1st"}, "'time' is not valid"),
    ({"time": 1714557600}, "'time' is not valid"),
    ({"name": ""}, "'name' is required"),
    ({"properties": {"k": "v" * 255, "n": 1, "nested": {"a": [1, "b"]}}}, None),
    ({"properties": {"k": "v" * 256}}, "'properties' has a string longer than 255 characters"),
    ({"properties": {"k": ["v" * 256]}}, "'properties' has a string longer than 255 characters"),
    ({"properties": {"$k": 1}}, "'properties' has an invalid key"),
    ({"properties": {"time": 1}}, "'properties' has an invalid key"),
    ({"properties": {"event_name": 1}}, "'properties' has an invalid key"),
    ({"properties": {"": 1}}, "'properties' has an invalid key"),
    ({"properties": {"k" * 256: 1}}, "'properties' has an invalid key"),
    ({"properties": [1]}, "'properties' must be an object"),
])
def test_events(changes, reason):
    assert rules.check_event({"external_id": "u", "name": "played", "time": T, **changes}) == reason


@pytest.mark.parametrize("changes,reason", [
    ({}, None),
    ({"quantity": 1}, None),
    ({"quantity": 100}, None),
    ({"quantity": 0}, "'quantity' is not valid"),
    ({"quantity": 101}, "'quantity' is not valid"),
    ({"quantity": 2.0}, "'quantity' is not valid"),
    ({"quantity": True}, "'quantity' is not valid"),
    ({"price": "9.5"}, "'price' is not valid"),
    ({"price": True}, "'price' is not valid"),
    ({"price": 0}, None),
    ({"currency": "US"}, "'currency' is not valid"),
    ({"currency": "US1"}, "'currency' is not valid"),
    ({"product_id": ""}, "'product_id' is required"),
    ({"time": "later"}, "'time' is not valid"),
])
def test_purchases(changes, reason):
    base = {"external_id": "u", "product_id": "p", "currency": "USD", "price": 1.5, "time": T}
    assert rules.check_purchase({**base, **changes}) == reason


def test_users_endpoint_entries():
    alias = {"alias_name": "n", "alias_label": "l"}
    assert rules.check_identify({"external_id": "u", "user_alias": alias}) is None
    assert rules.check_identify({"user_alias": alias}) == "'external_id' must be a string"
    assert rules.check_new_alias({**alias, "external_id": "u"}) is None
    assert rules.check_new_alias({"alias_name": "n"}) is not None
    assert rules.check_delete("external_ids", "u") is None
    assert rules.check_delete("braze_ids", 5) is not None
    assert rules.check_delete("user_aliases", alias) is None
