"""user_subscription: one-user subscription_groups entries, their arrays and keys, and every invalid row."""

from __future__ import annotations

import pytest

from connector.errors import HeaderError, InvalidRow
from connector.modes import make_writer
from connector.writers import Item, WriterOptions

G1 = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
G2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def writer(group: str | None = None):
    return make_writer("user_subscription", None, WriterOptions(subscription_group_id=group))


def invalid(row, group: str | None = None) -> tuple[str | None, str]:
    with pytest.raises(InvalidRow) as caught:
        writer(group).build(row)
    return caught.value.column, caught.value.reason


def test_each_identifier_kind_has_its_own_array_and_key():
    w = writer()
    assert w.build({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u1"}) == Item(
        "external_ids", {"subscription_group_id": G1, "subscription_state": "subscribed", "external_ids": ["u1"]},
        "external_id:u1")
    assert w.build({"subscription_group_id": G1, "subscription_state": "unsubscribed", "email": "a@x.io",
                    "external_id": "", "phone": None}) == Item(
        "emails", {"subscription_group_id": G1, "subscription_state": "unsubscribed", "emails": ["a@x.io"]},
        "email:a@x.io")
    item = w.build({"subscription_group_id": G1, "subscription_state": " Subscribed ", "phone": "+15555550100",
                    "use_double_opt_in_logic": "TRUE"})
    assert item == Item("phones", {"subscription_group_id": G1, "subscription_state": "subscribed",
                                   "phones": ["+15555550100"], "use_double_opt_in_logic": True}, "phone:+15555550100")


def test_the_config_group_serves_rows_without_one_and_a_cell_wins():
    w = writer(G2)
    assert w.build({"subscription_state": "subscribed", "external_id": 42}).body == {
        "subscription_group_id": G2, "subscription_state": "subscribed", "external_ids": ["42"]}
    assert w.build({"subscription_group_id": "", "subscription_state": "subscribed", "external_id": "u"}).body[
        "subscription_group_id"] == G2
    assert w.build({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u"}).body[
        "subscription_group_id"] == G1


@pytest.mark.parametrize("row, column, reason", [
    ({"subscription_state": "subscribed", "external_id": "u1"}, "subscription_group_id", "required, but empty"),
    ({"subscription_group_id": "3f2b6a4e8c1d4e5f9a7b0c1d2e3f4a5b", "subscription_state": "subscribed",
      "external_id": "u1"}, "subscription_group_id",
     "must be a subscription group id: a UUID such as 3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"),
    ({"subscription_group_id": 7, "subscription_state": "subscribed", "external_id": "u1"}, "subscription_group_id",
     "must be a subscription group id: a UUID such as 3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"),
    ({"subscription_group_id": G1, "subscription_state": "", "external_id": "u1"}, "subscription_state",
     "required, but empty"),
    ({"subscription_group_id": G1, "subscription_state": "opted_in", "external_id": "u1"}, "subscription_state",
     'must be "subscribed" or "unsubscribed"'),
    ({"subscription_group_id": G1, "subscription_state": True, "external_id": "u1"}, "subscription_state",
     'must be "subscribed" or "unsubscribed"'),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "", "email": None},
     None, "no user identifier: external_id, email and phone are all empty "
           "(give exactly one of external_id, email or phone)"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u1", "email": "a@x.io"},
     "email", "external_id is set too: give exactly one of external_id, email or phone"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "email": "a@x.io", "phone": "+15555550100"},
     "phone", "email is set too: give exactly one of external_id, email or phone"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "email": "a.x.io"}, "email",
     "not an email address (name@domain.tld)"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "email": "a b@x.io"}, "email",
     "not an email address (name@domain.tld)"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "email": "a@x"}, "email",
     "not an email address (name@domain.tld)"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "x" * 988}, "external_id",
     "longer than 987 bytes (988)"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": 1.5}, "external_id",
     "an identifier must be text or an integer"),
    ({"subscription_group_id": G1, "subscription_state": "subscribed", "external_id": "u1",
      "use_double_opt_in_logic": "maybe"}, "use_double_opt_in_logic", "must be a boolean: true, false, 1 or 0"),
])
def test_invalid_rows_name_their_column(row, column, reason):
    assert invalid(row) == (column, reason)


@pytest.mark.parametrize("phone", ["5555550100", "+1 555 555 0100", "+1234567890123456", "+0123", 15555550100])
def test_a_phone_must_be_e164(phone):
    row = {"subscription_group_id": G1, "subscription_state": "subscribed", "phone": phone}
    assert invalid(row) == ("phone", "not a phone number in E.164 format (+, the country code and the number, "
                                     "at most 15 digits)")


def test_the_header_needs_a_group_a_state_and_an_identifier():
    w = writer()
    assert w.check_columns(["subscription_group_id", "subscription_state", "email", "city"]) == [
        "user_subscription ignores the columns: city"]
    with pytest.raises(HeaderError, match="missing required column subscription_group_id: user_subscription needs "
                                          r"it \(or the config key subscription_group_id\)"):
        w.check_columns(["subscription_state", "email"])
    assert writer(G1).check_columns(["subscription_state", "email"]) == []
    with pytest.raises(HeaderError, match="missing required column subscription_state"):
        writer(G1).check_columns(["external_id"])
    with pytest.raises(HeaderError, match="no identifier column: user_subscription needs external_id, email or phone"):
        writer(G1).check_columns(["subscription_state", "braze_id"])
    assert writer(G1).check_columns(["subscription_group_id", "subscription_state", "phone"]) == [
        "the input's subscription_group_id column is used where a row sets it; the config's "
        "subscription_group_id where the cell is empty"]
