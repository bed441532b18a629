"""user_rename_external_id: external_id_renames entries, their key, and every invalid row."""

from __future__ import annotations

import pytest

from connector.errors import HeaderError, InvalidRow
from connector.modes import card_for, make_writer
from connector.writers import Item, WriterOptions


def writer():
    return make_writer("user_rename_external_id", None, WriterOptions())


def test_a_rename_and_its_dry_run_line():
    item = writer().build({"current_external_id": "u1", "new_external_id": 1001})
    assert item == Item("external_id_renames", {"current_external_id": "u1", "new_external_id": "1001"},
                        "external_id:u1")
    describe = card_for("user_rename_external_id", None).describe
    assert describe is not None and describe(item.body) == "rename external_id u1 to 1001"


@pytest.mark.parametrize("row, column, reason", [
    ({"current_external_id": "", "new_external_id": "b"}, "current_external_id", "required, but empty"),
    ({"current_external_id": "a", "new_external_id": None}, "new_external_id", "required, but empty"),
    ({"current_external_id": "a", "new_external_id": "a"}, "new_external_id",
     "the same as current_external_id: a rename needs a new id"),
    ({"current_external_id": "a", "new_external_id": "é" * 494}, "new_external_id", "longer than 987 bytes (988)"),
    ({"current_external_id": ["a"], "new_external_id": "b"}, "current_external_id",
     "an identifier must be text or an integer"),
])
def test_invalid_rows_name_their_column(row, column, reason):
    with pytest.raises(InvalidRow) as caught:
        writer().build(row)
    assert (caught.value.column, caught.value.reason) == (column, reason)


def test_the_header_needs_both_ids():
    assert writer().check_columns(["current_external_id", "new_external_id", "x"]) == [
        "user_rename_external_id ignores the columns: x"]
    with pytest.raises(HeaderError, match="missing required column new_external_id: user_rename_external_id needs it"):
        writer().check_columns(["current_external_id"])
