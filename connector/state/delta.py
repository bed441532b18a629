"""Delta of one attributes object (or one subscription state) against what Braze acknowledged: pure, no I/O.

The state keeps, per user, a map attribute name id -> 8-byte fingerprint of the value Braze
acknowledged. An absent name means Braze holds no value from us (or null). UNKNOWN marks a value
changed by an operator (`inc`, `add`/`remove`, `$add`/`$remove`/`$update`): any value is sent after it.
A subscription state is kept the same way, under the name `$subscription_group:<group id>` (no
attribute can be named so: a name starting with `$` is refused).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from connector.keys import UserKey, kind_of
from connector.state.fingerprint import value_fp

UNKNOWN = b"\0" * 8
FLAGS = frozenset({"_update_existing_only", "_merge_objects"})
PRIMARY = frozenset({"external_id", "braze_id", "user_alias"})
_OPERATOR_SETS = (frozenset({"inc"}), frozenset({"add", "remove"}), frozenset({"$add", "$remove", "$update"}))
_PAIR = struct.Struct("<I8s")
GROUP_NAME = "$subscription_group:"

Fingerprints = dict[int, bytes]        # name id -> fingerprint
Changes = dict[int, "bytes | None"]    # name id -> new fingerprint, None = removed (null sent)


def is_operator(value: Any) -> bool:
    """A value that changes Braze's value instead of setting it: resending it is not a no-op."""
    return type(value) is dict and bool(value) and any(value.keys() <= ops for ops in _OPERATOR_SETS)


def identifier_keys(user_key: UserKey) -> frozenset[str]:
    """The body keys that identify the user (email or phone only when they are the identifier)."""
    kind = kind_of(user_key)
    return PRIMARY | {kind} if kind in ("email", "phone") else PRIMARY


def pack(fps: Mapping[int, bytes]) -> bytes:
    return b"".join(_PAIR.pack(k, v) for k, v in sorted(fps.items()))


def unpack(blob: bytes | None) -> Fingerprints:
    return dict(_PAIR.iter_unpack(blob)) if blob else {}


@dataclass(frozen=True)
class Verdict:
    """What to send of one object: the reduced body (None: nothing changed), and the changes."""

    body: dict[str, Any] | None
    changes: Changes
    unchanged: int          # attributes left out because Braze has them already


def diff(body: Mapping[str, Any], user_key: UserKey, current: Callable[[int], bytes | None],
         name_id: Callable[[str], int], known_user: bool) -> Verdict:
    """Compare one attributes object with the fingerprints `current` gives (overlay, then store).

    An object with no attribute at all is sent once per user (that creates the profile), then
    never again: `known_user` says whether the state has the user.
    """
    fixed = identifier_keys(user_key) | FLAGS
    merged = body.get("_merge_objects") is True
    out: dict[str, Any] = {}
    changes: Changes = {}
    attributes = unchanged = 0
    for name, value in body.items():
        if name in fixed:
            out[name] = value
            continue
        attributes += 1
        nid = name_id(name)
        now = current(nid)
        if value is None:
            if now is None:
                unchanged += 1
                continue
            changes[nid] = None
        elif is_operator(value):
            changes[nid] = UNKNOWN
        else:
            fp = value_fp(value, merged and type(value) is dict)
            if fp == now:
                unchanged += 1
                continue
            changes[nid] = fp
        out[name] = value
    if changes or (attributes == 0 and not known_user):
        return Verdict(out, changes, unchanged)
    return Verdict(None, changes, unchanged)


def apply(stored: Fingerprints, changes: Changes) -> Fingerprints:
    """The user's fingerprints after Braze acknowledged `changes`."""
    result = dict(stored)
    for nid, fp in changes.items():
        if fp is None:
            result.pop(nid, None)
        else:
            result[nid] = fp
    return result


Differ = Callable[[Mapping[str, Any], UserKey, Callable[[int], "bytes | None"], Callable[[str], int], bool], Verdict]


def subscription_diff(body: Mapping[str, Any], user_key: UserKey, current: Callable[[int], bytes | None],
                      name_id: Callable[[str], int], known_user: bool) -> Verdict:
    """One user's state in one group (a user_subscription object): not sent when Braze acknowledged
    that state for that user and group before; `use_double_opt_in_logic` does not count."""
    nid = name_id(GROUP_NAME + str(body["subscription_group_id"]))
    fp = value_fp(body["subscription_state"])
    if current(nid) == fp:
        return Verdict(None, {}, 0)
    return Verdict(dict(body), {nid: fp}, 0)
