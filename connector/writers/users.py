"""user_new_alias, user_identifying and user_delete: one alias, identification or deletion per row."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from connector import keys
from connector.errors import HeaderError, InvalidRow
from connector.writers.base import Item, PlainWriter
from connector.writers.header import IDENTIFIERS, check_names, ignored_note, require
from connector.writers.identity import ONE_OF, alias_pair, primary
from connector.writers.values import identifier

REQUIRED = "required, but empty"


def _alias(row: Mapping[str, Any]) -> tuple[str, str]:
    """The row's alias pair, which the mode requires."""
    pair = alias_pair(row)
    if pair is None:
        raise InvalidRow("alias_name", REQUIRED)
    return pair


class NewAliasWriter(PlainWriter):
    """Rows -> `user_aliases` of /users/alias/new: a new alias, for an external_id or on its own."""

    _used = ("alias_name", "alias_label", "external_id")


    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without alias_name and alias_label; a note for the columns ignored."""
        present = check_names(columns, track=False)
        require(present, ("alias_name", "alias_label"), "user_new_alias")
        return ignored_note(columns, self._used, "user_new_alias")

    def build(self, row: Mapping[str, Any]) -> Item:
        """{alias_name, alias_label, external_id?}."""
        name, label = _alias(row)
        body = {"alias_name": name, "alias_label": label}
        v = row.get("external_id")
        external_id = None if v is None else identifier("external_id", v)
        if external_id is None:
            return Item("user_aliases", body, keys.alias(name, label))
        body["external_id"] = external_id
        return Item("user_aliases", body, keys.make("external_id", external_id))


class IdentifyWriter(PlainWriter):
    """Rows -> `aliases_to_identify` of /users/identify: attach an alias profile to an external_id."""

    _used = ("external_id", "alias_name", "alias_label")


    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without external_id, alias_name and alias_label; a note for the others."""
        present = check_names(columns, track=False)
        require(present, self._used, "user_identifying")
        return ignored_note(columns, self._used, "user_identifying")

    def build(self, row: Mapping[str, Any]) -> Item:
        """{external_id, user_alias: {alias_name, alias_label}}."""
        v = row.get("external_id")
        external_id = None if v is None else identifier("external_id", v)
        if external_id is None:
            raise InvalidRow("external_id", REQUIRED)
        name, label = _alias(row)
        body = {"external_id": external_id, "user_alias": {"alias_name": name, "alias_label": label}}
        return Item("aliases_to_identify", body, keys.make("external_id", external_id))


class DeleteWriter(PlainWriter):
    """Rows -> /users/delete: by external_id, braze_id or user alias (one kind per request)."""



    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without any identifier column; a note for the columns ignored."""
        present = check_names(columns, track=False)
        if not present.intersection(IDENTIFIERS):
            raise HeaderError("no identifier column: user_delete needs external_id, braze_id or alias_name+alias_label")
        return ignored_note(columns, IDENTIFIERS, "user_delete")

    def build(self, row: Mapping[str, Any]) -> Item:
        """The external_id or braze_id string, or {alias_name, alias_label}."""
        found = primary(row)
        if found is None:
            raise InvalidRow(None, f"no user identifier: {ONE_OF}")
        kind, value, key = found
        array = {"external_id": "external_ids", "braze_id": "braze_ids", "user_alias": "user_aliases"}[kind]
        return Item(array, value, key)
