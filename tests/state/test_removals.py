"""on_removed's removal step, its pure parts: a user key back to its columns, the removal rows of a
member built by each card's writer, and the guard's arithmetic."""

from __future__ import annotations

import pytest

from connector import keys
from connector.modes import card_for
from connector.pipeline.listing import removal_words
from connector.pipeline.removals import KINDS, guard, identity_row, removal_rows
from connector.state.audience import Figures, Member
from connector.writers import WriterOptions

GROUP = "3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"


@pytest.mark.parametrize("key, row", [
    (keys.make("external_id", "u:1"), {"external_id": "u:1"}),
    (keys.make("braze_id", "5f0c"), {"braze_id": "5f0c"}),
    (keys.make("email", "a@x.io"), {"email": "a@x.io"}),
    (keys.make("phone", "+15550001"), {"phone": "+15550001"}),
    (keys.alias("n\0ame", "crm"), {"alias_name": "n\0ame", "alias_label": "crm"}),
])
def test_a_key_gives_back_the_columns_it_was_made_of(key, row):
    assert identity_row(key) == row
    assert keys.row_key(row, keys.TRACK_KEYS) == key


def _build(kind: str, row: dict):
    return card_for(*KINDS[kind]).writer(WriterOptions(null_values="unset")).build(row)


def test_unset_nulls_every_name_held_and_creates_nobody():
    member = Member(b"u", "external_id:u1", {"vip": 1, "tier": 2})
    [(row, undo)] = removal_rows("unset", member)
    item = _build("unset", row)
    assert undo is None and item.key == "external_id:u1" and item.array == "attributes"
    assert item.body == {"external_id": "u1", "tier": None, "vip": None, "_update_existing_only": True}
    assert removal_rows("unset", Member(b"u", "external_id:u1", {})) == []      # nothing to undo


def test_an_alias_removal_is_update_only_too():
    member = Member(b"u", keys.alias("n", "crm"), {"vip": 1})
    item = _build("unset", removal_rows("unset", member)[0][0])
    assert item.body == {"user_alias": {"alias_name": "n", "alias_label": "crm"}, "vip": None,
                         "_update_existing_only": True}


def test_unsubscribe_makes_one_row_per_group_held():
    other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    member = Member(b"u", "phone:+15550001", {f"$subscription_group:{GROUP}": 4, f"$subscription_group:{other}": 9})
    rows = removal_rows("unsubscribe", member)
    assert [undo for _, undo in rows] == [frozenset({9}), frozenset({4})]
    item = _build("unsubscribe", rows[1][0])
    assert item.array == "phones" and item.body == {
        "subscription_group_id": GROUP, "subscription_state": "unsubscribed", "phones": ["+15550001"]}


def test_delete_removes_the_whole_user_and_cannot_delete_by_email():
    [(row, undo)] = removal_rows("delete", Member(b"u", "external_id:u1", {}))
    assert undo is None and _build("delete", row).body == "u1"
    from connector.errors import InvalidRow
    with pytest.raises(InvalidRow):
        _build("delete", removal_rows("delete", Member(b"u", "email:a@x.io", {}))[0][0])


def test_the_dry_run_words_of_each_removal():
    assert removal_words("unset", {"external_id": "u7", "vip": None, "_update_existing_only": True}) == \
        "unset vip of external_id u7"
    assert removal_words("unsubscribe", {"email": "a@x.io", "subscription_group_id": GROUP,
                                         "subscription_state": "unsubscribed"}) == f"unsubscribe email a@x.io from {GROUP}"
    assert removal_words("delete", {"alias_name": "n", "alias_label": "crm"}) == "delete alias crm:n"


def test_the_guard_lets_the_ratio_through_and_stops_beyond_it_or_on_no_user():
    assert guard(Figures(before=1000, now=980, leaving=200), 0.2, allow=False) is None      # exactly 20%
    stop = guard(Figures(before=1000, now=979, leaving=201), 0.2, allow=False)
    assert stop is not None and "201 of the 1000 users" in stop and "(20.1%)" in stop
    assert guard(Figures(before=1000, now=979, leaving=201), 0.2, allow=True) is None
    empty = guard(Figures(before=5, now=0, leaving=5), 1.0, allow=False)
    assert empty is not None and "has no user" in empty
    assert guard(Figures(before=5, now=0, leaving=5), 1.0, allow=True) is None
    assert guard(Figures(before=0, now=0, leaving=0), 0.0, allow=False) is None         # nothing to remove
    assert guard(Figures(before=0, now=3, leaving=2), 0.5, allow=False) is not None     # no base: all of it
