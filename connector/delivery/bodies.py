"""Endpoints whose request or answer is not one object per row: a card's body encoder and answer reader.

An encoder (`Encoder`, connector/delivery/batching.py) makes one request's body of its rows'
objects; a reader (`AnswerReader`) refines the client's classification of an answer with the
endpoint's own per-entry errors, before delivery looks the kind up in its action table. The
client (connector/braze/) stays mode-agnostic: it classifies by status and the common `errors`
list, and hands the answer's JSON object along in `Outcome.answer`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from connector.braze.outcome import Kind, ObjectError, Outcome
from connector.delivery.batching import array_body

AnswerReader = Callable[[Outcome], Outcome]
_REASON_LIMIT = 200


def as_classified(outcome: Outcome) -> Outcome:
    """The reader of endpoints whose answers the client reads in full."""
    return outcome


def subscription_groups(array: str, bodies: list[Any]) -> bytes:
    """/v2/subscription/status/set: the rows' one-user entries (all of one identifier kind,
    `array`) merged into `subscription_groups` entries by group, state and double opt-in, in
    the order each first appears. A user twice in one request for one group is sent once, with
    its later row's state (its rows are in input order)."""
    entries: dict[tuple[Any, ...], dict[str, Any]] = {}
    holder: dict[tuple[Any, Any], tuple[Any, ...]] = {}      # (group, user) -> the entry holding it
    for body in bodies:
        group, state = body["subscription_group_id"], body["subscription_state"]
        opt_in = body.get("use_double_opt_in_logic")
        slot = (group, state, opt_in)
        entry = entries.get(slot)
        if entry is None:
            entry = entries[slot] = {"subscription_group_id": group, "subscription_state": state, array: []}
            if opt_in is not None:
                entry["use_double_opt_in_logic"] = opt_in
        for user in body[array]:
            before = holder.get((group, user))
            if before is not None:
                entries[before][array].remove(user)
            entry[array].append(user)
            holder[(group, user)] = slot
    return array_body("subscription_groups", [e for e in entries.values() if e[array]])


def _entry_error(entry: Any) -> ObjectError:
    """One `[index, reason]` of an answer's error list (an object with `index` is read too)."""
    index, reason = None, entry
    if isinstance(entry, (list, tuple)) and entry:
        index, reason = entry[0], entry[1] if len(entry) > 1 else "rejected by Braze"
    elif isinstance(entry, dict):
        index, reason = entry.get("index"), entry.get("reason") or entry.get("message") or entry.get("type")
    if not isinstance(index, int) or isinstance(index, bool):
        index = None
    return ObjectError(None, index, str(reason or "rejected by Braze")[:_REASON_LIMIT])


def entry_errors(key: str) -> AnswerReader:
    """A reader for a 2xx answer listing the entries it refused under `key` as `[index, reason]`
    (index 0-based in the request's array): PARTIAL, each error rejecting its row."""

    def read(outcome: Outcome) -> Outcome:
        if outcome.kind is not Kind.DELIVERED or not outcome.answer:
            return outcome
        listed = outcome.answer.get(key)
        if not isinstance(listed, list) or not listed:
            return outcome
        return replace(outcome, kind=Kind.PARTIAL, errors=tuple(_entry_error(e) for e in listed))

    return read


rename_errors = entry_errors("rename_errors")
