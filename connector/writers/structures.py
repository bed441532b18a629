"""Attribute values with rules of their own: nested objects, arrays of objects, Braze's enum fields."""

from __future__ import annotations

from typing import Any, Callable

from connector.errors import InvalidRow
from connector.writers.times import to_date_text
from connector.writers.values import MAX_TEXT, json_size, scalar, to_bool

NESTED_OBJECT_BYTES = 50 * 1024
OBJECT_ARRAY_BYTES = 100 * 1024
_ARRAY_OPERATORS = frozenset({"$add", "$remove", "$update"})
_HEX = frozenset("0123456789abcdefABCDEF")

Converter = Callable[[str, Any], Any]


def structure(column: str, v: list[Any] | dict[str, Any]) -> Any:
    """A nested object (<= 50 KB), an array of objects or its operators (<= 100 KB), or an array."""
    size = json_size(column, v)
    _check_keys(column, v, inside_object=False)
    if type(v) is dict:
        if v and v.keys() <= _ARRAY_OPERATORS:
            limit, what = OBJECT_ARRAY_BYTES, "array of objects update"
        else:
            limit, what = NESTED_OBJECT_BYTES, "nested object"
    elif any(type(x) is dict for x in v):
        limit, what = OBJECT_ARRAY_BYTES, "array of objects"
    else:
        return v
    if size > limit:
        raise InvalidRow(column, f"{what} of {size} bytes as JSON; Braze allows {limit // 1024} KB")
    return v


def _check_keys(column: str, v: Any, *, inside_object: bool) -> None:
    """Keys of nested objects: <= 255 characters, no spaces; their text values <= 255 characters."""
    if type(v) is dict:
        for key, x in v.items():
            if len(key) > MAX_TEXT:
                raise InvalidRow(column, f"nested key longer than {MAX_TEXT} characters")
            if " " in key:
                raise InvalidRow(column, f"nested key {key[:40]!r} contains a space")
            _check_keys(column, x, inside_object=True)
    elif type(v) is list:
        for x in v:
            _check_keys(column, x, inside_object=inside_object)
    elif inside_object and type(v) is str and len(v) > MAX_TEXT:
        raise InvalidRow(column, f"nested text longer than {MAX_TEXT} characters")


def attribute_value(column: str, v: Any) -> Any:
    """An ordinary attribute value: a scalar as it is, a list/dict checked as a structure."""
    out = scalar(column, v)
    t = type(out)
    if t is list or t is dict:
        return structure(column, out)
    return out


def enum(choices: tuple[str, ...]) -> Converter:
    """A converter accepting the choices in any case, sent in their canonical case."""
    table = {c.lower(): c for c in choices}
    listed = ", ".join(choices)

    def convert(column: str, v: Any) -> str:
        if isinstance(v, str):
            found = table.get(v.lower())
            if found is not None:
                return found
        raise InvalidRow(column, f"must be one of {listed}")

    return convert


def is_uuid(v: Any) -> bool:
    """A UUID in its canonical 8-4-4-4-12 hexadecimal form (a subscription group id)."""
    if not isinstance(v, str) or len(v) != 36:
        return False
    parts = v.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and set("".join(parts)) <= _HEX


def subscription_groups(column: str, v: Any) -> Any:
    """A list of {subscription_group_id: UUID, subscription_state: subscribed|unsubscribed}."""
    if type(v) is not list:
        raise InvalidRow(column, "must be a list of objects with subscription_group_id and subscription_state")
    for group in v:
        if type(group) is not dict:
            raise InvalidRow(column, "each entry must be an object with subscription_group_id and subscription_state")
        if not is_uuid(group.get("subscription_group_id")):
            raise InvalidRow(column, "subscription_group_id must be a UUID")
        if group.get("subscription_state") not in ("subscribed", "unsubscribed"):
            raise InvalidRow(column, 'subscription_state must be "subscribed" or "unsubscribed"')
    return structure(column, v)


def dob(column: str, v: Any) -> Any:
    """Date of birth: a date or datetime is sent as YYYY-MM-DD; text as it is."""
    if hasattr(v, "isoformat") and not isinstance(v, str):
        return to_date_text(v)
    return attribute_value(column, v)


GENDER = enum(("M", "F", "O", "N", "P"))
SUBSCRIBE = enum(("opted_in", "subscribed", "unsubscribed"))

# Standard profile fields whose values Braze types; every other column goes through attribute_value.
STANDARD: dict[str, Converter] = {
    "gender": GENDER,
    "email_subscribe": SUBSCRIBE,
    "push_subscribe": SUBSCRIBE,
    "subscription_groups": subscription_groups,
    "dob": dob,
    "email_open_tracking_disabled": to_bool,
    "email_click_tracking_disabled": to_bool,
    "push_token_import": to_bool,
}
# Standard fields that are never text: a text cell must be listed in pre_formatted_fields.
STRUCTURED_STANDARD = frozenset({"subscription_groups", "current_location", "push_tokens"})
