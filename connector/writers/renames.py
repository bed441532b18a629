"""user_rename_external_id: one row gives a user a new external id (/users/external_ids/rename); it cannot be undone.

Braze makes the new id the user's primary external_id and keeps the old one as a deprecated id
that still finds the user until it is removed. Braze answers each entry it cannot rename in
`rename_errors` (read by connector/delivery/bodies.py), which rejects just that row.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from connector import keys
from connector.errors import InvalidRow
from connector.writers.base import Item, PlainWriter
from connector.writers.contacts import external_id
from connector.writers.header import check_names, ignored_note, require

MODE = "user_rename_external_id"
CURRENT = "current_external_id"
NEW = "new_external_id"
KEYS: keys.KeyColumns = (("external_id", (CURRENT,)),)


def _required(row: Mapping[str, Any], column: str) -> str:
    v = row.get(column)
    text = None if v is None else external_id(column, v)
    if text is None:
        raise InvalidRow(column, "required, but empty")
    return text


class RenameWriter(PlainWriter):
    """Rows -> `external_id_renames` of /users/external_ids/rename: {current_external_id, new_external_id}."""

    _used = (CURRENT, NEW)

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without current_external_id and new_external_id; a note for the others."""
        present = check_names(columns, track=False)
        require(present, self._used, MODE)
        return ignored_note(columns, self._used, MODE)

    def build(self, row: Mapping[str, Any]) -> Item:
        """{current_external_id, new_external_id}; InvalidRow when they are the same."""
        current, new = _required(row, CURRENT), _required(row, NEW)
        if current == new:
            raise InvalidRow(NEW, f"the same as {CURRENT}: a rename needs a new id")
        return Item("external_id_renames", {CURRENT: current, NEW: new}, keys.make("external_id", current))


def describe(body: Mapping[str, Any]) -> str:
    """One line a dry run shows for a rename: 'rename external_id u1 to crm-1'."""
    return f"rename external_id {body[CURRENT]} to {body[NEW]}"
