"""How the sandbox applies one attributes object to a profile's attributes, with Braze's semantics."""

from __future__ import annotations

import copy
from typing import Any

from .rules import MAX_TEXT

# keys of an attributes object that are not attributes of the profile
NOT_ATTRIBUTES = frozenset({
    "external_id", "braze_id", "user_alias", "_update_existing_only", "_merge_objects",
    "push_token_import",
})


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value in out:
            out.remove(value)
        out.append(value)
    return out


def _is_inc(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"inc"} and isinstance(value["inc"], (int, float)) \
        and not isinstance(value["inc"], bool)


def _is_add_remove(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"add", "remove"} \
        and all(isinstance(v, list) for v in value.values())


def _is_object_ops(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"$add", "$remove", "$update"}


def deep_merge(old: Any, new: dict[str, Any]) -> dict[str, Any]:
    """Nested objects merged key by key (`_merge_objects: true`); a null removes the key."""
    out = dict(old) if isinstance(old, dict) else {}
    for key, value in new.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and "$time" not in value:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _matches(item: Any, selector: dict[str, Any]) -> bool:
    key = selector.get("$identifier_key")
    return isinstance(item, dict) and key in item and item[key] == selector.get("$identifier_value")


def _object_ops(old: Any, ops: dict[str, Any], merge: bool) -> list[Any]:
    items = [copy.deepcopy(i) for i in old] if isinstance(old, list) else []
    for selector in ops.get("$remove", []):
        items = [i for i in items if not (isinstance(selector, dict) and _matches(i, selector))]
    for update in ops.get("$update", []) if merge else []:
        if isinstance(update, dict) and isinstance(update.get("$new_object"), dict):
            items = [deep_merge(i, update["$new_object"]) if _matches(i, update) else i for i in items]
    items.extend(copy.deepcopy(ops.get("$add", [])))
    return items


def _too_long(value: Any) -> bool:
    return isinstance(value, str) and len(value) > MAX_TEXT


def _merge_groups(old: Any, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    states = {g["subscription_group_id"]: g for g in old} if isinstance(old, list) else {}
    for group in groups:
        states[group["subscription_group_id"]] = dict(group)
    return list(states.values())


def apply_value(old: Any, value: Any, merge: bool) -> Any:
    """The new value of one attribute; `None` means the attribute is removed."""
    if _is_inc(value):
        base = old if isinstance(old, (int, float)) and not isinstance(old, bool) else 0
        return base + value["inc"]
    if _is_add_remove(value):
        items = list(old) if isinstance(old, list) else []
        items = [i for i in items if i not in value.get("remove", [])]
        return _dedupe(items + list(value.get("add", [])))
    if _is_object_ops(value):
        return _object_ops(old, value, merge)
    if isinstance(value, list):
        scalars = all(not isinstance(v, (dict, list)) for v in value)
        return _dedupe(list(value)) if scalars else copy.deepcopy(value)
    if isinstance(value, dict) and merge and "$time" not in value:
        return deep_merge(old, value)
    return copy.deepcopy(value)


def apply_attributes(current: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """The profile's attributes after `obj` (an attributes object) is applied.

    Strings over 255 characters are silently not applied, as in Braze.
    """
    merge = obj.get("_merge_objects") is True
    out = dict(current)
    for key, value in obj.items():
        if key in NOT_ATTRIBUTES or _too_long(value):
            continue
        if key == "subscription_groups" and isinstance(value, list):
            out[key] = _merge_groups(out.get(key), value)
            continue
        new = None if value is None else apply_value(out.get(key), value, merge)
        if new is None:
            out.pop(key, None)
        else:
            out[key] = new
    return out
