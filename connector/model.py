"""Values passed between the rooms: what a writer makes of a row, on its way to delivery."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

# A row's values for the rejected-rows file: the row, or its raw CSV cells (Ledger.read_cells_with).
Values = Mapping[str, Any] | Sequence[str] | None


class Item(NamedTuple):
    """One Braze object made from one row.

    array: the request array it goes in ("attributes", "events", "purchases",
        "aliases_to_identify", "user_aliases", or for deletes "external_ids", "braze_ids",
        "user_aliases").
    body: the JSON-ready object (a dict; a plain string for external_ids / braze_ids deletes).
        (The fast path, writers/cells.py, makes no Item: it hands delivery the object already
        encoded, as bytes in batching.Entry.body.)
    key: the user it concerns ("external_id:u1", "alias:label\\x00name", ...), so that rows of
        one user are delivered in input order.
    """

    array: str
    body: Any
    key: str
