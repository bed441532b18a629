"""user_subscription: one row sets one user's state in one subscription group (/v2/subscription/status/set).

Each row becomes a one-user `subscription_groups` entry, in the array of its identifier kind
(`external_ids`, `emails` or `phones`), so that emails and phones never share a request; the
card's encoder (connector/delivery/bodies.py) merges a request's entries by group and state.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from connector.errors import HeaderError, InvalidRow
from connector.writers.base import Item, PlainWriter, WriterOptions
from connector.writers.contacts import Way, check_pairs, key_columns, one_of, pick, require_one
from connector.writers.header import check_names, ignored_note
from connector.writers.structures import is_uuid
from connector.writers.values import to_bool

MODE = "user_subscription"
GROUP = "subscription_group_id"
STATE = "subscription_state"
DOUBLE_OPT_IN = "use_double_opt_in_logic"
STATES = ("subscribed", "unsubscribed")
WAYS = (Way("external_id", ("external_id",)), Way("email", ("email",)), Way("phone", ("phone",)))
KEYS = key_columns(WAYS)
ARRAYS: Mapping[str, str] = {"external_id": "external_ids", "email": "emails", "phone": "phones"}
NOT_A_GROUP = "must be a subscription group id: a UUID such as 3f2b6a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"
NOT_A_STATE = 'must be "subscribed" or "unsubscribed"'
REQUIRED = "required, but empty"


def group_problem(value: Any) -> str | None:
    """Why a subscription group id cannot be sent, or None."""
    return None if is_uuid(value) else NOT_A_GROUP


class SubscriptionWriter(PlainWriter):
    """Rows -> one-user `subscription_groups` entries: group, state, one of external_id, email, phone."""

    _used = (GROUP, STATE, DOUBLE_OPT_IN) + tuple(w.columns[0] for w in WAYS)

    def __init__(self, options: WriterOptions) -> None:
        super().__init__(options)
        self._group = options.subscription_group_id

    def check_columns(self, columns: Sequence[str]) -> list[str]:
        """HeaderError without a group (column or config key), a state or an identifier column."""
        present = check_names(columns, track=False)
        check_pairs(present, WAYS)
        if GROUP not in present and self._group is None:
            raise HeaderError(f"missing required column {GROUP}: {MODE} needs it (or the config key {GROUP})")
        if STATE not in present:
            raise HeaderError(f"missing required column {STATE}: {MODE} needs it")
        require_one(present, WAYS, "identifier", MODE)
        notes = ignored_note(columns, self._used, MODE)
        if GROUP in present and self._group is not None:
            notes.append(f"the input's {GROUP} column is used where a row sets it; the config's {GROUP} "
                         f"where the cell is empty")
        return notes

    def build(self, row: Mapping[str, Any]) -> Item:
        """{subscription_group_id, subscription_state, <kind>s: [the user], use_double_opt_in_logic?}."""
        group = row.get(GROUP)
        if group is None or group == "":
            group = self._group
            if group is None:
                raise InvalidRow(GROUP, REQUIRED)
        elif group_problem(group):
            raise InvalidRow(GROUP, NOT_A_GROUP)
        state = row.get(STATE)
        if state is None or state == "":
            raise InvalidRow(STATE, REQUIRED)
        state = state.strip().lower() if isinstance(state, str) else state
        if state not in STATES:
            raise InvalidRow(STATE, NOT_A_STATE)
        found = pick(row, WAYS)
        if found is None:
            raise InvalidRow(None, f"no user identifier: external_id, email and phone are all empty ({one_of(WAYS)})")
        array = ARRAYS[found.kind]
        body: dict[str, Any] = {GROUP: group, STATE: state, array: [found.value]}
        flag = row.get(DOUBLE_OPT_IN)
        if flag is not None and flag != "":
            body[DOUBLE_OPT_IN] = to_bool(DOUBLE_OPT_IN, flag)
        return Item(array, body, found.key)
