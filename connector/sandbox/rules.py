"""Braze's per-object rules as the sandbox models them, written on their own (nothing shared with the writers)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Callable

PRIMARY_IDS = ("external_id", "braze_id", "user_alias")
MISSING_ID = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
SEVERAL_IDS = "only one of 'external_id', 'braze_id' or 'user_alias' may be given"
RESERVED_PROPERTIES = frozenset({"time", "event_name"})
GENDERS = frozenset({"M", "F", "O", "N", "P"})
SUBSCRIBE_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})
GROUP_STATES = frozenset({"subscribed", "unsubscribed"})
MAX_EXTERNAL_ID_BYTES = 987
MAX_TEXT = 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BRAZE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}:\d{3}(Z|[+-]\d{2}:?\d{2})$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_GROUP_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

Check = Callable[[Any], "str | None"]


def is_text(value: Any, limit: int = MAX_TEXT) -> bool:
    """A non-empty string no longer than `limit` characters."""
    return isinstance(value, str) and 0 < len(value) <= limit


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean), finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_time(value: Any) -> bool:
    """An ISO 8601 date-time (or Braze's `yyyy-MM-dd'T'HH:mm:ss:SSSZ`)."""
    if not isinstance(value, str) or len(value) < 10:
        return False
    if _BRAZE_TIME.match(value):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_email(value: Any) -> bool:
    """An email address as Braze accepts it: something@domain.tld, no spaces."""
    return isinstance(value, str) and len(value) <= MAX_TEXT and bool(_EMAIL.match(value))


def is_e164(value: Any) -> bool:
    """A phone number in E.164: '+', a non-zero digit, then 1 to 14 digits."""
    return isinstance(value, str) and bool(_E164.match(value))


def is_group_id(value: Any) -> bool:
    """A subscription group id: a UUID in its canonical 8-4-4-4-12 hexadecimal form."""
    return isinstance(value, str) and bool(_GROUP_ID.match(value))


def check_alias(alias: Any) -> str | None:
    """A user_alias object: string alias_name and alias_label."""
    if not isinstance(alias, dict) or not is_text(alias.get("alias_name"), 10_000) \
            or not is_text(alias.get("alias_label"), 10_000):
        return "'user_alias' must have string 'alias_name' and 'alias_label'"
    return None


def check_external_id(value: Any) -> str | None:
    """An external_id: a non-empty string of at most 987 bytes."""
    if not isinstance(value, str) or not value:
        return "'external_id' must be a string"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_EXTERNAL_ID_BYTES:
        return "EXTERNAL_USER_ID_TOO_LARGE"
    return None


def check_identifier(obj: dict[str, Any]) -> str | None:
    """Exactly one primary identifier; with none, email or phone identifies."""
    given = [key for key in PRIMARY_IDS if key in obj]
    if len(given) > 1:
        return SEVERAL_IDS
    if not given:
        if is_text(obj.get("email"), 10_000) or is_text(obj.get("phone"), 10_000):
            return None
        return MISSING_ID
    key = given[0]
    if key == "external_id":
        return check_external_id(obj[key])
    if key == "braze_id":
        return None if is_text(obj[key], 10_000) else "'braze_id' must be a string"
    return check_alias(obj[key])


def _check_flags(obj: dict[str, Any]) -> str | None:
    for flag in ("_update_existing_only", "_merge_objects"):
        if flag in obj and not isinstance(obj[flag], bool):
            return f"'{flag}' is not valid"
    return None


def check_key(key: Any) -> bool:
    """A property or attribute name Braze accepts."""
    return is_text(key) and not key.startswith("$")


def _long_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_TEXT
    if isinstance(value, list):
        return any(_long_string(v) for v in value)
    if isinstance(value, dict):
        return any(_long_string(v) for v in value.values())
    return False


def check_properties(props: Any) -> str | None:
    """Event/purchase properties: an object with valid keys and strings of at most 255 characters."""
    if not isinstance(props, dict):
        return "'properties' must be an object"
    for key, value in props.items():
        if not check_key(key) or key in RESERVED_PROPERTIES:
            return "'properties' has an invalid key"
        if _long_string(value):
            return "'properties' has a string longer than 255 characters"
    return None


def _check_groups(groups: Any) -> str | None:
    if not isinstance(groups, list):
        return "BAD_SUBSCRIPTION_GROUP_ARRAY"
    for group in groups:
        if not isinstance(group, dict):
            return "BAD_SUBSCRIPTION_GROUP_HASH"
        if not is_group_id(group.get("subscription_group_id")):
            return "BAD_SUBSCRIPTION_GROUP_ID"
        if group.get("subscription_state") not in GROUP_STATES:
            return "BAD_SUBSCRIPTION_GROUP_STATE"
    return None


def check_attributes(obj: Any) -> str | None:
    """One object of the `attributes` array."""
    if not isinstance(obj, dict):
        return "object is not valid"
    problem = check_identifier(obj) or _check_flags(obj)
    if problem:
        return problem
    for key in obj:
        if not check_key(key) and key not in ("_update_existing_only", "_merge_objects"):
            return "attribute name is not valid"
    if obj.get("email") is not None and not (isinstance(obj["email"], str) and _EMAIL.match(obj["email"])):
        return "EMAIL_BAD_FORMAT"
    if "email_subscribe" in obj and obj["email_subscribe"] not in SUBSCRIBE_STATES:
        return "BAD_EMAIL_SUBSCRIPTION_STATE"
    if "push_subscribe" in obj and obj["push_subscribe"] not in SUBSCRIBE_STATES:
        return "BAD_PUSH_SUBSCRIPTION_STATE"
    if obj.get("gender") is not None and obj["gender"] not in GENDERS:
        return "'gender' is not valid"
    if "subscription_groups" in obj:
        return _check_groups(obj["subscription_groups"])
    return None


def _check_common(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "object is not valid"
    problem = check_identifier(obj) or _check_flags(obj)
    if problem:
        return problem
    if obj.get("email") is not None and not (isinstance(obj["email"], str) and _EMAIL.match(obj["email"])):
        return "EMAIL_BAD_FORMAT"
    if "app_id" in obj and not isinstance(obj["app_id"], str):
        return "'app_id' is not valid"
    if "properties" in obj:
        return check_properties(obj["properties"])
    return None


def check_event(obj: Any) -> str | None:
    """One object of the `events` array."""
    problem = _check_common(obj)
    if problem:
        return problem
    if not is_text(obj.get("name")):
        return "'name' is required"
    if not is_time(obj.get("time")):
        return "'time' is not valid"
    return None


def check_purchase(obj: Any) -> str | None:
    """One object of the `purchases` array."""
    problem = _check_common(obj)
    if problem:
        return problem
    if not is_text(obj.get("product_id")):
        return "'product_id' is required"
    if not isinstance(obj.get("currency"), str) or not _CURRENCY.match(obj["currency"]):
        return "'currency' is not valid"
    if not is_number(obj.get("price")):
        return "'price' is not valid"
    if "quantity" in obj:
        qty = obj["quantity"]
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 100:
            return "'quantity' is not valid"
    if not is_time(obj.get("time")):
        return "'time' is not valid"
    return None


TRACK_CHECKS: dict[str, Check] = {
    "attributes": check_attributes,
    "events": check_event,
    "purchases": check_purchase,
}


def check_identify(entry: Any) -> str | None:
    """One object of `aliases_to_identify`."""
    if not isinstance(entry, dict):
        return "object is not valid"
    return check_external_id(entry.get("external_id")) or check_alias(entry.get("user_alias"))


def check_new_alias(entry: Any) -> str | None:
    """One object of alias/new's `user_aliases`."""
    if not isinstance(entry, dict):
        return "object is not valid"
    if "external_id" in entry and entry["external_id"] is not None:
        problem = check_external_id(entry["external_id"])
        if problem:
            return problem
    return check_alias(entry)


def check_delete(array: str, entry: Any) -> str | None:
    """One identifier of a delete request."""
    if array == "external_ids":
        return check_external_id(entry)
    if array == "braze_ids":
        return None if is_text(entry, 10_000) else "'braze_id' must be a string"
    return check_alias(entry)
