"""/v2/subscription/status/set and v1 /subscription/status/set: whole-request checks, a state per user and group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import rules
from .answers import Answer, bad
from .mutate import Applier

MAX_USERS = 50
STATES = ("subscribed", "unsubscribed")
BOTH = "Either an email address or a phone number should be provided, but not both."
NO_GROUPS = "Valid data must be provided in the 'subscription_groups' field."
TOO_MANY = "a single request may not update more than 50 users (every external_id, email and phone of every group)"
V2_KEYS = {"external_id": "external_ids", "email": "emails", "phone": "phones"}
V1_KEYS = {"external_id": "external_id", "email": "email", "phone": "phone"}


@dataclass(frozen=True)
class Group:
    """One checked group entry: the group, the state to set, and its users as (kind, value) pairs."""

    group_id: str
    state: str
    users: tuple[tuple[str, str], ...]
    double_opt_in: bool
    entry: dict[str, Any]


class Refused(ValueError):
    """The request is refused whole (400); the message says which entry and why."""


def _at(where: str, text: str) -> str:
    """A problem's message, prefixed by the entry it is in ("subscription_groups[1]: ...") in v2."""
    return f"{where}: {text}" if where else text


def _values(entry: dict[str, Any], key: str, where: str) -> list[Any]:
    value = entry.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise Refused(_at(where, f"'{key}' must be a string or an array of strings"))


def _problem(kind: str, value: Any) -> str | None:
    if kind == "external_id":
        reason = rules.check_external_id(value)
        return None if reason is None else f"is not a valid external_id ({reason})"
    if kind == "email":
        return None if rules.is_email(value) else "is not a valid email address"
    return None if rules.is_e164(value) else "is not a phone number in E.164 format (+ and up to 15 digits)"


def _group(entry: Any, keys: dict[str, str], where: str) -> Group:
    if not isinstance(entry, dict):
        raise Refused(f"{where or 'the body'} must be an object")
    if not rules.is_group_id(entry.get("subscription_group_id")):
        raise Refused(_at(where, "'subscription_group_id' must be a subscription group id (a UUID)"))
    if entry.get("subscription_state") not in STATES:
        raise Refused(_at(where, "'subscription_state' must be 'subscribed' or 'unsubscribed'"))
    double_opt_in = entry.get("use_double_opt_in_logic", False)
    if not isinstance(double_opt_in, bool):
        raise Refused(_at(where, "'use_double_opt_in_logic' must be true or false"))
    users: list[tuple[str, str]] = []
    for kind, key in keys.items():
        for index, value in enumerate(_values(entry, key, where)):
            problem = _problem(kind, value)
            if problem:
                raise Refused(f"{where}.{key}[{index}] {problem}" if where else f"{key}[{index}] {problem}")
            users.append((kind, value))
    if not users:
        names = [repr(k) for k in keys.values()]
        raise Refused(_at(where, f"one of {', '.join(names[:-1])} or {names[-1]} is required"))
    return Group(entry["subscription_group_id"], entry["subscription_state"], tuple(users), double_opt_in, entry)


def _check_counts(entries: list[Any], keys: dict[str, str]) -> None:
    """Braze's two request-wide rules, before any entry is looked at in detail."""
    def given(key: str) -> bool:
        return any(isinstance(e, dict) and e.get(key) not in (None, [], "") for e in entries)

    if given(keys["email"]) and given(keys["phone"]):
        raise Refused(BOTH)
    total = 0
    for entry in entries:
        for key in keys.values():
            value = entry.get(key) if isinstance(entry, dict) else None
            total += len(value) if isinstance(value, list) else int(isinstance(value, str))
    if total > MAX_USERS:
        raise Refused(TOO_MANY)


def parse(path: str, body: dict[str, Any]) -> list[Group]:
    """The checked groups of a v1 or v2 body; `Refused` for the first problem found."""
    if path == "/subscription/status/set":
        _check_counts([body], V1_KEYS)
        return [_group(body, V1_KEYS, "")]
    entries = body.get("subscription_groups")
    if entries is None or entries == []:
        raise Refused(NO_GROUPS)
    if not isinstance(entries, list):
        raise Refused("'subscription_groups' must be an array of objects")
    _check_counts(entries, V2_KEYS)
    return [_group(entry, V2_KEYS, f"subscription_groups[{i}]") for i, entry in enumerate(entries)]


def set_status(path: str, body: dict[str, Any], applier: Applier | None) -> Answer:
    """POST one of the two paths: 201 {"message": "success"}, or 400 for the whole request."""
    try:
        groups = parse(path, body)
    except Refused as exc:
        return bad(str(exc))
    users = sum(len(g.users) for g in groups)
    if applier is not None:
        for group in groups:
            applier.record("subscription_groups", group.entry)
            for kind, value in group.users:
                if kind == "external_id":
                    found = applier.store.find_profile(external_id=value)
                    pids = [] if found is None else [found]   # an unknown external_id creates nobody
                else:
                    pids = applier.with_contact(kind, value)  # every profile with it, or a new one
                for pid in pids:
                    applier.subscribe(pid, group.group_id, group.state, group.double_opt_in)
    return Answer(201, {"message": "success"}, accepted=users, applied=applier.applied if applier else 0)
