"""user_new_alias, user_identifying, user_delete: objects, keys and invalid rows."""

from __future__ import annotations

import pytest

from connector.writers.values import NOT_UTF8
from connector.errors import InvalidRow
from connector.writers import Item
from connector.modes import make_writer
from connector.writers import WriterOptions


def writer(mode):
    return make_writer(mode, None, WriterOptions())


def invalid(mode, row) -> tuple[str | None, str]:
    with pytest.raises(InvalidRow) as caught:
        writer(mode).build(row)
    return caught.value.column, caught.value.reason


def test_new_alias_on_its_own_and_for_an_external_id():
    w = writer("user_new_alias")
    assert w.build({"alias_name": "n", "alias_label": "crm", "other": 1}) == Item(
        "user_aliases", {"alias_name": "n", "alias_label": "crm"}, "alias:crm\x00n"
    )
    assert w.build({"alias_name": "n", "alias_label": "crm", "external_id": 12}) == Item(
        "user_aliases", {"alias_name": "n", "alias_label": "crm", "external_id": "12"}, "external_id:12"
    )


def test_new_alias_needs_both_parts():
    assert invalid("user_new_alias", {"alias_name": None, "alias_label": None}) == ("alias_name", "required, but empty")
    assert invalid("user_new_alias", {"alias_name": "n", "alias_label": None}) == (
        "alias_label",
        "empty while alias_name is set (a user alias is the pair)",
    )
    assert invalid("user_new_alias", {"alias_name": "n" * 256, "alias_label": "l"}) == (
        "alias_name",
        "text longer than 255 characters (256)",
    )


def test_identify_object():
    item = writer("user_identifying").build({"external_id": "u1", "alias_name": "n", "alias_label": "crm"})
    assert item == Item(
        "aliases_to_identify",
        {"external_id": "u1", "user_alias": {"alias_name": "n", "alias_label": "crm"}},
        "external_id:u1",
    )


def test_identify_invalid_rows():
    assert invalid("user_identifying", {"external_id": None, "alias_name": "n", "alias_label": "l"}) == (
        "external_id",
        "required, but empty",
    )
    assert invalid("user_identifying", {"external_id": "u", "alias_name": None, "alias_label": None}) == (
        "alias_name",
        "required, but empty",
    )
    assert invalid("user_identifying", {"external_id": 1.5, "alias_name": "n", "alias_label": "l"}) == (
        "external_id",
        "an identifier must be text or an integer",
    )


@pytest.mark.parametrize(
    ("row", "item"),
    [
        ({"external_id": "u1", "braze_id": None}, Item("external_ids", "u1", "external_id:u1")),
        ({"external_id": None, "braze_id": "b1"}, Item("braze_ids", "b1", "braze_id:b1")),
        (
            {"alias_name": "n", "alias_label": "l", "external_id": None},
            Item("user_aliases", {"alias_name": "n", "alias_label": "l"}, "alias:l\x00n"),
        ),
        ({"external_id": 99}, Item("external_ids", "99", "external_id:99")),
    ],
)
def test_delete_items(row, item):
    assert writer("user_delete").build(row) == item


def test_delete_invalid_rows():
    assert invalid("user_delete", {"external_id": None, "braze_id": None}) == (
        None,
        "no user identifier: give exactly one of external_id, braze_id or alias_name+alias_label",
    )
    column, reason = invalid("user_delete", {"external_id": "u", "alias_name": "n", "alias_label": "l"})
    assert (column, reason.split(":")[0]) == ("alias_name", "external_id is set too")
    assert invalid("user_delete", {"braze_id": "b\udcff"}) == ("braze_id", NOT_UTF8)
