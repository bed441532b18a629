"""Event and purchase properties: the `properties` object, property columns, key and size rules."""

from __future__ import annotations

from typing import Any, Collection

from connector.errors import InvalidRow
from connector.writers.header import shown
from connector.writers.values import MAX_TEXT, SCALAR_BOUND, json_size, parse_json, scalar

RESERVED_KEYS = frozenset({"time", "event_name"})
EVENT_PROPERTIES_BYTES = 100 * 1024
PURCHASE_PROPERTIES_BYTES = 50 * 1024


def key_problem(key: Any) -> str | None:
    """Why Braze would refuse a property name, or None."""
    if not isinstance(key, str) or not key:
        return "property names must not be empty"
    if len(key) > MAX_TEXT:
        return f"property names are at most {MAX_TEXT} characters"
    if key[0] == "$":
        return "property names must not start with $"
    if key in RESERVED_KEYS:
        return f"Braze reserves the property name {key}"
    return None


def properties_object(v: Any) -> tuple[dict[str, Any], bool]:
    """The `properties` column's members (nulls dropped), and whether one is a list or an object.

    The column holds a JSON object: a dict, or text holding one.
    """
    if type(v) is str:
        v = parse_json("properties", v)
    if type(v) is not dict:
        raise InvalidRow("properties", "must be a JSON object")
    out = {}
    structured = False
    for key, x in v.items():
        problem = key_problem(key)
        if problem:
            raise InvalidRow("properties", f"property {shown(str(key))!r}: {problem}")
        if x is None:
            continue
        try:
            out[key] = scalar("properties", x)
        except InvalidRow as e:
            raise InvalidRow("properties", f"property {shown(key)!r}: {e.reason}") from None
        structured = structured or type(x) is list or type(x) is dict
    return out, structured


def property_column(column: str, v: Any) -> Any:
    """A column sent as a property (lists and dicts are checked with the whole payload)."""
    return scalar(column, v)


def pre_formatted_property(column: str, v: Any) -> Any:
    """A pre-formatted column sent as a property: text is parsed as JSON."""
    if type(v) is str:
        v = parse_json(column, v)
    return scalar(column, v)


# Bytes one scalar property can take as JSON with its name, at most: a payload of no more than
# limit / PROPERTY_BOUND scalar properties needs no measuring.
PROPERTY_BOUND = SCALAR_BOUND + MAX_TEXT * 6 + 3


def check_payload(props: dict[str, Any], columns: Collection[str], limit: int, what: str, structured: bool) -> None:
    """Refuse a properties payload over Braze's limit, or one holding NaN or text that is not UTF-8.

    Encodes only when the payload may hold structure or could exceed the limit.
    """
    if not structured and len(props) * PROPERTY_BOUND <= limit:
        return
    try:
        size = json_size(None, props)
    except InvalidRow:
        for key, x in props.items():
            json_size(key if key in columns else "properties", x)
        raise
    if size > limit:
        raise InvalidRow(None, f"{what} properties are {size} bytes as JSON; Braze allows {limit // 1024} KB")
