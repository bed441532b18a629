"""Who a row is about: the one primary identifier (or email, then phone) and its ordering key."""

from __future__ import annotations

from typing import Any, Mapping

from connector import keys
from connector.errors import InvalidRow
from connector.writers.values import identifier

ONE_OF = "give exactly one of external_id, braze_id or alias_name+alias_label"


def alias_pair(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(alias_name, alias_label) when the row holds an alias; InvalidRow when it holds half of one."""
    raw_name = row.get("alias_name")
    raw_label = row.get("alias_label")
    name = None if raw_name is None else identifier("alias_name", raw_name)
    label = None if raw_label is None else identifier("alias_label", raw_label)
    if name is None:
        if label is None:
            return None
        raise InvalidRow("alias_name", "empty while alias_label is set (a user alias is the pair)")
    if label is None:
        raise InvalidRow("alias_label", "empty while alias_name is set (a user alias is the pair)")
    return name, label


def primary(row: Mapping[str, Any]) -> tuple[str, Any, keys.UserKey] | None:
    """(kind, value for the body, key) of the row's one primary identifier, or None.

    kind is "external_id", "braze_id" or "user_alias"; two of them in one row are invalid.
    """
    found: tuple[str, Any, str] | None = None
    v = row.get("external_id")
    if v is not None:
        text = identifier("external_id", v)
        if text is not None:
            found = ("external_id", text, keys.make("external_id", text))
    v = row.get("braze_id")
    if v is not None:
        text = identifier("braze_id", v)
        if text is not None:
            if found is not None:
                raise InvalidRow("braze_id", f"external_id is set too: {ONE_OF}")
            found = ("braze_id", text, keys.make("braze_id", text))
    pair = alias_pair(row)
    if pair is not None:
        if found is not None:
            raise InvalidRow("alias_name", f"{found[0]} is set too: {ONE_OF}")
        name, label = pair
        found = ("user_alias", {"alias_name": name, "alias_label": label}, keys.alias(name, label))
    return found


def track_identity(row: Mapping[str, Any]) -> tuple[dict[str, Any], keys.UserKey, bool, bool]:
    """(body holding the identifier, key, identified by alias, email/phone are the identifier).

    Without a primary identifier, email (then phone) identifies the row and both go in the
    body when set; with one, email and phone are left to the caller as ordinary values.
    """
    found = primary(row)
    if found is not None:
        kind, value, key = found
        return {kind: value}, key, kind == "user_alias", False
    body: dict[str, Any] = {}
    contact(row, body)
    for column in ("email", "phone"):
        if column in body:
            return body, keys.make(column, body[column]), False, True
    raise InvalidRow(
        None, "no user identifier: external_id, braze_id, alias_name+alias_label, email and phone are all empty"
    )


def contact(row: Mapping[str, Any], body: dict[str, Any]) -> None:
    """Put the row's non-empty email and phone in the body (beside a primary identifier)."""
    for column in ("email", "phone"):
        v = row.get(column)
        if v is not None:
            text = identifier(column, v)
            if text is not None:
                body[column] = text
